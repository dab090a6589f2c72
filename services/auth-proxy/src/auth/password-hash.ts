// Password hash schemes found in htpasswd files. Each scheme recognises its own hashes and verifies a
// password against one. Hashing itself is left to maintained libraries: no hand-written crypto here.
import bcrypt from 'bcrypt'

export interface HashScheme {
  readonly name: string
  /** Weak schemes are accepted for compatibility but logged with a recommendation to re-hash with bcrypt. */
  readonly weak: boolean
  /** True when `hash` is a well-formed hash of this scheme. */
  matches (hash: string): boolean
  verify (password: string, hash: string): Promise<boolean>
  /** A hash of a random secret costing the same to verify as `like`: used for unknown users (timing). */
  dummyLike (like: string): Promise<string>
}

// bcrypt: $2a$, $2b$ (OpenBSD) and $2y$ (PHP, Apache's htpasswd -B) are the same algorithm for every
// password htpasswd can produce. The native library knows $2a$/$2b$ only and silently *fails* $2y$ hashes,
// so $2y$ is read as $2b$ (as passlib does).
const BCRYPT_RE = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

export const bcryptScheme: HashScheme = {
  name: 'bcrypt',
  weak: false,
  matches: (hash) => BCRYPT_RE.test(hash) && Number(hash.slice(4, 6)) >= 4 && Number(hash.slice(4, 6)) <= 31,
  verify: async (password, hash) => await bcrypt.compare(password, hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash),
  dummyLike: async (like) => await bcrypt.hash(crypto.randomUUID(), Number(like.slice(4, 6)))
}

export const SCHEMES: readonly HashScheme[] = Object.freeze([bcryptScheme])

export function detectScheme (hash: string): HashScheme | undefined {
  return SCHEMES.find((scheme) => scheme.matches(hash))
}
