// Brute-force defence that stops guessing without locking anyone else out. Three counters, each over
// AUTH_FAILURE_WINDOW, each in a bounded LRU table (at most AUTH_FAILURE_MAX_CLIENTS keys; a flood of keys can only
// make the proxy forget, never refuse the innocent):
//
//   1. client + user name (AUTH_FAILURE_LIMIT): a guesser is refused with 429 for the rest of the window, before
//      any hashing — but only for that user name: the next person behind the same NAT or router, or the same
//      person with another account, is not affected;
//   2. client (AUTH_FAILURE_CLIENT_LIMIT): one address spraying many user names is refused the same way;
//   3. user name (AUTH_FAILURE_ACCOUNT_LIMIT): a distributed guesser aiming at one account from many addresses
//      slows that account down instead of locking its owner out — beyond the limit every check of that account
//      waits (1 s, doubling per further failure, at most 30 s) and only one runs at a time, so guessing drops to
//      one attempt per delay while the owner's own login still succeeds after it.
//
// Credentials the verify cache already knows to be right are never throttled (basic-auth.ts answers them before
// asking here): they are no guesses, so people logged in keep working whatever an attacker does. A success clears
// its client + user count and its account's slowdown. OWASP's authentication cheat sheet and Authelia's
// regulation (a per-user ban, which lets anyone lock any user out) are the trade-off weighed; see docs/security.md.
import { Lru } from '../util/lru.ts'

export interface ThrottleOptions {
  /** Failures per client and user name; 0 disables the whole throttle. */
  readonly limit: number
  /** Failures per client, all user names together. */
  readonly clientLimit: number
  /** Failures per user name, all clients together, before the account is slowed. */
  readonly accountLimit: number
  readonly windowMs: number
  /** Keys tracked per table. */
  readonly maxClients: number
  readonly now?: () => number
}

/** The slowest an account under attack gets: one check per 30 s, ~2,900 guesses a day at most. */
export const ACCOUNT_MAX_DELAY_MS = 30_000
const ACCOUNT_FIRST_DELAY_MS = 1_000

interface Window { count: number, readonly resetAt: number }

class Counter {
  readonly #table: Lru<string, Window>
  readonly #windowMs: number
  readonly #now: () => number

  constructor (max: number, windowMs: number, now: () => number) {
    this.#table = new Lru(max)
    this.#windowMs = windowMs
    this.#now = now
  }

  get size (): number { return this.#table.size }

  /** Failures in the current window, and ms left in it. */
  read (key: string): { count: number, leftMs: number } {
    const w = this.#table.peek(key)
    const left = w === undefined ? 0 : w.resetAt - this.#now()
    if (w === undefined || left <= 0) return { count: 0, leftMs: 0 }
    return { count: w.count, leftMs: left }
  }

  add (key: string): void {
    const now = this.#now()
    let w = this.#table.peek(key)
    if (w === undefined || w.resetAt <= now) w = { count: 0, resetAt: now + this.#windowMs }
    w.count++
    this.#table.set(key, w)
  }

  clear (key: string): void { this.#table.delete(key) }
}

export class FailureThrottle {
  readonly #pairs: Counter
  readonly #clients: Counter
  readonly #accounts: Counter
  readonly #options: ThrottleOptions
  /** Accounts being slowed whose one check at a time is under way. */
  readonly #slowChecks = new Set<string>()

  constructor (options: ThrottleOptions) {
    const now = options.now ?? Date.now
    this.#options = options
    this.#pairs = new Counter(options.maxClients, options.windowMs, now)
    this.#clients = new Counter(options.maxClients, options.windowMs, now)
    this.#accounts = new Counter(options.maxClients, options.windowMs, now)
  }

  /** Keys tracked, all tables together (for tests and the bound). */
  get trackedKeys (): number { return this.#pairs.size + this.#clients.size + this.#accounts.size }

  /** Seconds until `client` may try `user` again, or 0 when it may now. `user` is '' where there is none (bearer). */
  retryAfter (client: string, user: string): number {
    if (this.#options.limit === 0) return 0
    const pair = this.#pairs.read(pairKey(client, user))
    const all = this.#clients.read(client)
    let leftMs = 0
    if (pair.count >= this.#options.limit) leftMs = pair.leftMs
    if (all.count >= this.#options.clientLimit) leftMs = Math.max(leftMs, all.leftMs)
    return Math.ceil(leftMs / 1000)
  }

  /** How long a check of `user` must wait: 0 until the account passed AUTH_FAILURE_ACCOUNT_LIMIT in this window. */
  accountDelayMs (user: string): number {
    if (this.#options.limit === 0 || user === '') return 0
    const beyond = this.#accounts.read(user).count - this.#options.accountLimit
    return beyond < 0 ? 0 : Math.min(ACCOUNT_FIRST_DELAY_MS * 2 ** beyond, ACCOUNT_MAX_DELAY_MS)
  }

  /** Claims the one check a slowed account may run now; false when another is under way. */
  startSlowCheck (user: string): boolean {
    if (this.#slowChecks.has(user)) return false
    this.#slowChecks.add(user)
    return true
  }

  endSlowCheck (user: string): void { this.#slowChecks.delete(user) }

  failure (client: string, user: string): void {
    if (this.#options.limit === 0) return
    this.#pairs.add(pairKey(client, user))
    this.#clients.add(client)
    if (user !== '') this.#accounts.add(user)
  }

  success (client: string, user: string): void {
    this.#pairs.clear(pairKey(client, user))
    if (user !== '') this.#accounts.clear(user)
  }
}

/** NUL cannot occur in an address, and a user name with one is refused before it gets here (RFC 7617 §2). */
function pairKey (client: string, user: string): string {
  return `${client}\u0000${user}`
}
