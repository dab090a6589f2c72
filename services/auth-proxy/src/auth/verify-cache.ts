// Remembers successful credential checks so the expensive hash (bcrypt: tens of milliseconds) runs once per
// credential instead of once per request. nginx re-hashes on every request; this is what lets a bcrypt-protected
// app serve thousands of requests per second.
//
// The cache never holds a password: entries are keyed by a SHA-256 of user and password under a random key made
// at start-up and known to nothing else. Only successes are cached, so a failed check can never make a later
// correct one fail. Entries expire after a TTL, the cache is bounded (least recently used goes first), and every
// entry is tied to the backend's credential generation, so a reload drops them all at once.
import { hash, randomBytes } from 'node:crypto'
import { Lru } from '../util/lru.ts'
import type { PasswordVerifier, ReloadCounts } from './verifier.ts'
import type { Identity } from './identity.ts'

export interface VerifyCacheOptions {
  /** Entries at most; 0 disables caching. */
  readonly maxEntries: number
  readonly ttlMs: number
  /** Clock, for tests. */
  readonly now?: () => number
}

interface Entry { readonly identity: Identity, readonly generation: number, readonly expires: number }

export class CachedBackend implements PasswordVerifier {
  readonly name: string
  readonly #inner: PasswordVerifier
  readonly #key = randomBytes(32).toString('base64')
  readonly #entries: Lru<string, Entry>
  /** Checks under way, so a burst of requests with the same new credentials runs one hash, not hundreds. */
  readonly #inflight = new Map<string, Promise<Identity | null>>()
  readonly #maxEntries: number
  readonly #ttlMs: number
  readonly #now: () => number
  hits = 0
  misses = 0

  constructor (inner: PasswordVerifier, options: VerifyCacheOptions) {
    this.name = inner.name
    this.#inner = inner
    this.#maxEntries = options.maxEntries
    this.#entries = new Lru(options.maxEntries)
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? Date.now
  }

  get size (): number { return this.#entries.size }

  #keyOf (user: string, password: string): string {
    // A keyed SHA-256 under a secret random prefix: a fifth of an HMAC's cost on every request, and as good for a
    // lookup key — digests never leave the process, so length extension gives an attacker nothing.
    // Length-prefixing keeps ("a:b", "c") and ("a", "b:c") apart.
    return hash('sha256', `${this.#key}${user.length}:${user}:${password}`, 'base64')
  }

  /** A fresh entry for `key`, moved to the recent end; expired or outdated ones are dropped. */
  #hit (key: string, generation: number): Identity | undefined {
    const entry = this.#entries.get(key) // now the most recent
    if (entry === undefined) return undefined
    if (entry.generation !== generation || entry.expires <= this.#now()) { this.#entries.delete(key); return undefined }
    this.hits++
    return entry.identity
  }

  /**
   * The cached answer for these credentials, synchronously, or undefined when verify() must ask the backend.
   * The hot path of a proxy: most requests repeat credentials that were checked moments ago.
   */
  cached (user: string, password: string): Identity | undefined {
    if (this.#maxEntries === 0) return undefined
    return this.#hit(this.#keyOf(user, password), this.#inner.generation?.() ?? 0)
  }

  /**
   * The check of exactly these credentials already under way, if any: joining it is no new guess (basic-auth.ts
   * does not count it against the throttle), so a browser's burst of parallel first requests is one attempt.
   */
  underway (user: string, password: string): Promise<Identity | null> | undefined {
    if (this.#inflight.size === 0) return undefined
    const pending = this.#inflight.get(this.#keyOf(user, password))
    if (pending !== undefined) this.hits++ // joins a check under way: no hash of its own
    return pending
  }

  async verify (user: string, password: string): Promise<Identity | null> {
    const key = this.#keyOf(user, password)
    const generation = this.#inner.generation?.() ?? 0
    const hit = this.#maxEntries === 0 ? undefined : this.#hit(key, generation)
    if (hit !== undefined) return hit
    const pending = this.#inflight.get(key)
    if (pending !== undefined) {
      this.hits++
      return await pending
    }
    this.misses++
    const check = this.#inner.verify(user, password)
      .then((identity) => {
        // Only successes, and only if the credentials did not change while we were checking.
        if (identity !== null && this.#maxEntries > 0 && generation === (this.#inner.generation?.() ?? 0)) this.#remember(key, identity, generation)
        return identity
      })
      .finally(() => { this.#inflight.delete(key) })
    this.#inflight.set(key, check)
    return await check
  }

  #remember (key: string, identity: Identity, generation: number): void {
    this.#entries.set(key, { identity, generation, expires: this.#now() + this.#ttlMs }) // the least recent goes
  }

  ready (): boolean { return this.#inner.ready() }
  generation (): number { return this.#inner.generation?.() ?? 0 }
  status (): object { return this.#inner.status?.() ?? {} }
  readiness (): Record<string, boolean> { return this.#inner.readiness?.() ?? { [this.#inner.name]: this.#inner.ready() } }
  reloadCounts (): ReloadCounts { return this.#inner.reloadCounts?.() ?? { success: 0, failure: 0 } }
  async close (): Promise<void> { await this.#inner.close?.() }
}
