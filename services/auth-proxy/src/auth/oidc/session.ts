// Stateless sessions: the session lives in the browser as an encrypted, authenticated cookie (JWE, dir +
// A256GCM, RFC 7516), so any replica holding the same SESSION_SECRET serves any session and nothing is stored
// server-side. Keys are derived from the secrets with HKDF (RFC 5869); a previous secret is still accepted, so
// rotating it logs nobody out. Large sessions are split across numbered cookies (browsers cap one at ~4 KB).
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose'
import { CredentialsLoadError } from '../../errors.ts'
import { MIN_SECRET_LENGTH, type SessionConfig } from './config.ts'
import { readPasswordFile } from '../../util/secret-file.ts'
import { chunkName } from './cookie-names.ts'

/** What a session holds. Short claim names: every byte ends up in a cookie on every request. */
export interface Session {
  /** Random id, for the logout CSRF token. */
  readonly sid: string
  readonly user: string
  readonly email?: string
  readonly groups?: readonly string[]
  /** Absolute end (seconds since the epoch): a new login after it. */
  readonly exp: number
  /** When the provider's tokens expire and a refresh is due (seconds since the epoch). */
  readonly refreshAt: number
  readonly refreshToken?: string
  readonly accessToken?: string
  /** For RP-initiated logout's id_token_hint. */
  readonly idToken?: string
  /** The provider's subject and session id (ID token `sub`, `sid`), for back-channel logout. */
  readonly sub?: string
  readonly psid?: string
  /**
   * When the login happened, in milliseconds (kept through refreshes), for "log out everywhere": not `iat`, which
   * the sealed token sets anew on every write.
   */
  readonly lat?: number
}

/** Below the ~4096-byte limit browsers put on one cookie (name, value and attributes), with room for attributes. */
export const COOKIE_CHUNK_SIZE = 3_800
/** At most this many chunks (~38 KB): more would exceed what servers accept in a Cookie header anyway. */
export const MAX_CHUNKS = 10

interface Key { readonly kid: string, readonly key: Uint8Array, readonly csrf: Buffer }

/** Separate keys for encryption and for CSRF tokens, both from the one secret (RFC 5869 `info` separates them). */
function deriveKey (secret: string): Key {
  const key = new Uint8Array(hkdfSync('sha256', secret, 'auth-proxy session', 'A256GCM session cookie', 32))
  const csrf = Buffer.from(hkdfSync('sha256', secret, 'auth-proxy session', 'HMAC-SHA256 csrf token', 32))
  return { kid: createHash('sha256').update(key).digest('base64url').slice(0, 8), key, csrf }
}

/** Cookie header → name → value (RFC 6265 §5.4); the first of duplicate names wins, as in browsers' order. */
export function parseCookies (header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim())
  }
  return cookies
}

export interface CookieOptions {
  readonly secure: boolean
  readonly path?: string
  /** RFC 6265 §5.2.3 Domain; absent: host-only. */
  readonly domain?: string
  /** Seconds; 0 deletes. */
  readonly maxAge: number
}

/** RFC 6265 §4.1 Set-Cookie; HttpOnly (no script reads it) and SameSite=Lax (not sent on cross-site POSTs). */
export function serializeCookie (name: string, value: string, options: CookieOptions): string {
  return `${name}=${value}; Path=${options.path ?? '/'}${options.domain !== undefined ? `; Domain=${options.domain}` : ''}; Max-Age=${Math.max(0, Math.floor(options.maxAge))}; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`
}

/** Adds a Set-Cookie to the reply; Fastify appends set-cookie values instead of replacing them. */
export function appendCookie (reply: FastifyReply, cookie: string): void {
  void reply.header('set-cookie', cookie)
}

export class SessionStore {
  readonly cookieName: string
  readonly #domain: string | undefined
  readonly #keys: readonly Key[]
  readonly #lifetimeMs: number

  /** `secrets`: current first, then previous ones still accepted. */
  constructor (cookieName: string, secrets: readonly string[], lifetimeMs: number, domain?: string) {
    if (secrets.length === 0) throw new Error('SessionStore needs a secret')
    this.cookieName = cookieName
    this.#domain = domain
    this.#keys = secrets.map(deriveKey)
    this.#lifetimeMs = lifetimeMs
  }

  get lifetimeMs (): number { return this.#lifetimeMs }

  static newId (): string { return randomBytes(16).toString('base64url') }

  /** Encrypts and authenticates `payload` (which must carry `exp`, seconds since the epoch) under the current key. */
  async seal (payload: JWTPayload & { readonly exp: number }): Promise<string> {
    const current = this.#keys[0] as Key
    return await new EncryptJWT({ ...payload })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid })
      .setIssuedAt()
      .encrypt(current.key)
  }

  /** The payload, or null when tampered with, sealed under an unknown secret, or expired. */
  async unsealPayload (token: string): Promise<JWTPayload | null> {
    for (const { key } of this.#keys) {
      try {
        // jose checks `exp` (with no tolerance) and the authentication tag.
        const { payload } = await jwtDecrypt(token, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })
        return payload
      } catch {
        // Try the next key; a token no key opens is simply nothing.
      }
    }
    return null
  }

  /** The session, or null when absent, tampered with, sealed under an unknown secret, or expired. */
  async unseal (token: string): Promise<Session | null> {
    const payload = await this.unsealPayload(token)
    if (payload === null || typeof payload.user !== 'string' || typeof payload.sid !== 'string' || typeof payload.exp !== 'number') return null
    return payload as unknown as Session
  }

  /** The CSRF token for a session's state-changing requests (logout): HMAC of its id under the current key. */
  csrfToken (sid: string): string {
    return createHmac('sha256', (this.#keys[0] as Key).csrf).update(sid).digest('base64url')
  }

  /** Constant-time check against every accepted key, so a rotation does not break an open logout form. */
  checkCsrf (sid: string, token: unknown): boolean {
    if (typeof token !== 'string') return false
    const given = Buffer.from(token)
    return this.#keys.some(({ csrf }) => {
      const expected = Buffer.from(createHmac('sha256', csrf).update(sid).digest('base64url'))
      return expected.length === given.length && timingSafeEqual(expected, given)
    })
  }

  /** The session cookie's value, joined from its chunks (`name_0`, `name_1`, …) when it was split. */
  #rawValue (cookies: Map<string, string>): string | undefined {
    const whole = cookies.get(this.cookieName)
    if (whole !== undefined) return whole
    let value = ''
    for (let i = 0; i < MAX_CHUNKS; i++) {
      const chunk = cookies.get(chunkName(this.cookieName, i))
      if (chunk === undefined) break
      value += chunk
    }
    return value === '' ? undefined : value
  }

  async read (request: FastifyRequest): Promise<Session | null> {
    const raw = this.#rawValue(parseCookies(request.headers.cookie))
    return raw === undefined ? null : await this.unseal(raw)
  }

  /** Sets the session cookie(s), and expires chunks of an older, larger session the browser still holds. */
  async write (request: FastifyRequest, reply: FastifyReply, session: Session, secure: boolean): Promise<number> {
    const value = await this.seal({ ...session })
    const maxAge = session.exp - Math.floor(Date.now() / 1000)
    const present = parseCookies(request.headers.cookie)
    const chunks = value.length <= COOKIE_CHUNK_SIZE ? [value] : value.match(new RegExp(`.{1,${COOKIE_CHUNK_SIZE}}`, 'g')) ?? []
    if (chunks.length > MAX_CHUNKS) throw new Error(`session too large for cookies (${value.length} bytes)`)
    const names = chunks.length === 1 ? [this.cookieName] : chunks.map((_, i) => chunkName(this.cookieName, i))
    const domain = this.#domain === undefined ? {} : { domain: this.#domain }
    chunks.forEach((chunk, i) => { appendCookie(reply, serializeCookie(names[i] ?? '', chunk, { secure, maxAge, ...domain })) })
    for (const name of this.#names()) {
      if (present.has(name) && !names.includes(name)) appendCookie(reply, serializeCookie(name, '', { secure, maxAge: 0, ...domain }))
    }
    return value.length
  }

  /** Expires every session cookie the browser sent. */
  clear (request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
    const present = parseCookies(request.headers.cookie)
    for (const name of this.#names()) {
      if (present.has(name)) appendCookie(reply, serializeCookie(name, '', { secure, maxAge: 0, ...(this.#domain !== undefined && { domain: this.#domain }) }))
    }
  }

  #names (): string[] {
    return [this.cookieName, ...Array.from({ length: MAX_CHUNKS }, (_, i) => chunkName(this.cookieName, i))]
  }
}

/** Builds the store from SESSION_*: secret files are read now, so a missing or short one stops the start-up. */
export async function loadSessionStore (config: SessionConfig): Promise<SessionStore> {
  const secrets: string[] = []
  for (const source of config.secrets) {
    if ('value' in source) { secrets.push(source.value); continue }
    const text = await readPasswordFile(source.file, source.variable)
    if (text.length < MIN_SECRET_LENGTH) throw new CredentialsLoadError(`${source.variable}: ${source.file} holds fewer than ${MIN_SECRET_LENGTH} characters`)
    secrets.push(text)
  }
  return new SessionStore(config.cookieName, secrets, config.lifetimeMs, config.cookieDomain)
}
