// Password hash schemes found in htpasswd files. Each scheme recognises its own hashes and verifies a
// password against one. Hashing itself is left to maintained libraries (bcrypt, apache-md5) and to Node's
// crypto for SHA-1: no hand-written crypto here. Every comparison is constant-time.
import { createHash, timingSafeEqual } from 'node:crypto'
import md5 from 'apache-md5'
import bcrypt from 'bcrypt'
import { constantTimeEqual } from './constant-time.ts'

export interface HashScheme {
  readonly name: string
  /** Weak schemes are accepted for compatibility but logged with a recommendation to re-hash with bcrypt. */
  readonly weak: boolean
  /** True when `hash` is a well-formed hash of this scheme. */
  matches (hash: string): boolean
  verify (password: string, hash: string): Promise<boolean>
}

// bcrypt: $2a$, $2b$ (OpenBSD) and $2y$ (PHP, Apache's htpasswd -B) are the same algorithm for every
// password htpasswd can produce. The native library knows $2a$/$2b$ only and silently *fails* $2y$ hashes,
// so $2y$ is read as $2b$ (as passlib does).
const BCRYPT_RE = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/

export const bcryptScheme: HashScheme = {
  name: 'bcrypt',
  weak: false,
  matches: (hash) => BCRYPT_RE.test(hash),
  verify: async (password, hash) => await bcrypt.compare(password, hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash)
}

// apr1: Apache's MD5-crypt, htpasswd's default (-m) and `openssl passwd -apr1`. Salt up to 8 characters.
const APR1_RE = /^\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}$/

/** apache-md5 feeds strings to the hash as "ascii" (one byte per char): pass the UTF-8 bytes that way. */
function utf8Bytes (password: string): string {
  return Buffer.from(password, 'utf8').toString('latin1')
}

export const apr1Scheme: HashScheme = {
  name: 'apr1',
  weak: true,
  matches: (hash) => APR1_RE.test(hash),
  verify: async (password, hash) => await Promise.resolve(constantTimeEqual(md5(utf8Bytes(password), hash), hash))
}

// {SHA}: base64(SHA-1(password)), htpasswd -s. Unsalted: weak.
const SHA_RE = /^\{SHA\}[A-Za-z0-9+/]{27}=$/

function sha1 (...parts: Buffer[]): Buffer {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}

export const shaScheme: HashScheme = {
  name: 'sha',
  weak: true,
  matches: (hash) => SHA_RE.test(hash),
  verify: async (password, hash) => await Promise.resolve(
    timingSafeEqual(sha1(Buffer.from(password, 'utf8')), Buffer.from(hash.slice(5), 'base64')))
}

// {SSHA}: base64(SHA-1(password + salt) + salt), as written by slappasswd and nginx guides. Weak (fast hash).
const SSHA_RE = /^\{SSHA\}[A-Za-z0-9+/]+={0,2}$/

export const sshaScheme: HashScheme = {
  name: 'ssha',
  weak: true,
  matches: (hash) => SSHA_RE.test(hash) && Buffer.from(hash.slice(6), 'base64').length > 20,
  verify: async (password, hash) => {
    const decoded = Buffer.from(hash.slice(6), 'base64')
    const digest = decoded.subarray(0, 20)
    const salt = decoded.subarray(20)
    return await Promise.resolve(timingSafeEqual(sha1(Buffer.from(password, 'utf8'), salt), digest))
  }
}

export const SCHEMES: readonly HashScheme[] = Object.freeze([bcryptScheme, apr1Scheme, shaScheme, sshaScheme])

export function detectScheme (hash: string): HashScheme | undefined {
  return SCHEMES.find((scheme) => scheme.matches(hash))
}

/** A bcrypt htpasswd line, `$2y$` like Apache's `htpasswd -B` so every tool that reads those reads ours. */
export async function bcryptLine (user: string, password: string, cost: number): Promise<string> {
  const hash = await bcrypt.hash(password, cost)
  return `${user}:$2y$${hash.slice(4)}`
}
