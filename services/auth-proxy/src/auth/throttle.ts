// Brute-force defence that stops guessing without locking anyone else out. Three counters, each in a bounded LRU
// table (at most AUTH_FAILURE_MAX_CLIENTS keys; a flood of keys can only make the proxy forget, never refuse the
// innocent):
//
//   1. client + user name (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW): a guesser is refused with 429 for the rest
//      of the window, before any hashing — but only for that user name: the next person behind the same NAT or
//      router, or the same person with another account, is not affected;
//   2. client (AUTH_FAILURE_CLIENT_LIMIT per window): one address spraying many user names is refused the same way;
//   3. user name (AUTH_FAILURE_ACCOUNT_LIMIT): a distributed guesser aiming at one account from many addresses
//      slows that account down instead of locking its owner out. Beyond the limit every check of that account
//      waits (1 s, doubling per further failure, at most 30 s), and the count only decays a window after the last
//      failure, so a steady attacker keeps it slowed. Checks run one at a time in each of two lanes — clients that
//      have already failed for this account, and clients that have not — so a guesser holding its lane cannot
//      take the owner's turn; and a client that logged into the account before (the owner's own browser) is not
//      slowed at all. Guessing drops to two checks per delay, ~5,800 a day at most, while the owner gets in.
//
// Every attempt counts when it starts, not when its check ends, so parallel requests cannot race past a limit; a
// success or a backend that could not decide takes its own count back. User names are counted as the directories
// compare them (Unicode NFKC, case and surrounding spaces folded — LDAP's caseIgnoreMatch would let `ALICE` and
// ` alice` dodge the counters) and by a short hash, so an 11 kB name costs what a short one does. IPv6 clients are
// counted per /64 (one host commonly holds a whole /64). Credentials the verify cache already knows to be right are
// never throttled (basic-auth.ts answers them before asking here). OWASP's authentication cheat sheet and
// Authelia's regulation (a per-user ban, which lets anyone lock any user out) are the trade-off weighed; see
// docs/security.md.
import { createHash } from 'node:crypto'
import { Lru } from '../util/lru.ts'
import { Attempt, type SharedThrottle } from './attempt.ts'
import { clientGroup } from '../util/net.ts'

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

/** The slowest an account under attack gets: one check per lane per 30 s. */
export const ACCOUNT_MAX_DELAY_MS = 30_000
const ACCOUNT_FIRST_DELAY_MS = 1_000
/** How long a client that logged into an account stays exempt from that account's slowdown. */
export const KNOWN_CLIENT_MS = 30 * 24 * 3600_000

interface Window { count: number, resetAt: number }

/** Failures per key in a window: fixed (from the first failure) or sliding (a window after the last). */
class Counter {
  readonly #table: Lru<string, Window>
  readonly #windowMs: number
  readonly #now: () => number
  readonly #sliding: boolean

  constructor (max: number, windowMs: number, now: () => number, sliding = false) {
    this.#table = new Lru(max)
    this.#windowMs = windowMs
    this.#now = now
    this.#sliding = sliding
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
    if (this.#sliding) w.resetAt = now + this.#windowMs
    this.#table.set(key, w)
  }

  /** Takes one count back (an attempt that turned out to be no failure). */
  remove (key: string): void {
    const w = this.#table.peek(key)
    if (w !== undefined && w.count > 0) w.count--
  }

  clear (key: string): void { this.#table.delete(key) }
}

/** How an attempt ended: right, wrong, or not decided (a backend down; `refused`: another backend said no). */
export type Outcome = 'success' | 'failure' | 'undecided' | 'undecided-refused'


/** The keys of one attempt: the client group, the client + subject pair, the account (none for a token). */
export interface Keys { readonly client: string, readonly pair: string, readonly account: string | undefined }

export class FailureThrottle {
  readonly #pairs: Counter
  readonly #clients: Counter
  readonly #accounts: Counter
  /** Client + account pairs that logged in, until when: exempt from the account's slowdown. */
  readonly #known: Lru<string, number>
  /** Lanes (account + lane) whose one check at a time is under way. */
  readonly #turns = new Set<string>()
  readonly #options: ThrottleOptions
  readonly #now: () => number
  #shared: SharedThrottle | undefined

  constructor (options: ThrottleOptions) {
    this.#now = options.now ?? Date.now
    this.#options = options
    this.#pairs = new Counter(options.maxClients, options.windowMs, this.#now)
    this.#clients = new Counter(options.maxClients, options.windowMs, this.#now)
    this.#accounts = new Counter(options.maxClients, options.windowMs, this.#now, true)
    this.#known = new Lru(options.maxClients)
  }

  get enabled (): boolean { return this.#options.limit > 0 }

  /** Keys tracked, all tables together (for tests and the bound). */
  get trackedKeys (): number { return this.#pairs.size + this.#clients.size + this.#accounts.size + this.#known.size }

  /** Counts password attempts across replicas too, from now on (REDIS_URL); bearer tokens stay per replica. */
  share (shared: SharedThrottle): void { this.#shared = shared }

  get options (): ThrottleOptions { return this.#options }

  /** An attempt at a password for `user` from `clientAddress`. */
  attempt (clientAddress: string, user: string): Attempt {
    const account = accountKey(user)
    const client = clientGroup(clientAddress)
    return new Attempt(this, { client, pair: `${client} ${account}`, account }, this.#shared)
  }

  /**
   * An attempt with a bearer token: counted per client and per token, never against an account, and per replica
   * only — a token cannot be guessed, and a Redis round trip on every API call is not worth it.
   */
  tokenAttempt (clientAddress: string, token: string): Attempt {
    const client = clientGroup(clientAddress)
    return new Attempt(this, { client, pair: `${client} t:${digest(token)}`, account: undefined }, undefined)
  }

  /** An Authorization header no method could read: counted against the client only (there is no name to count). */
  malformed (clientAddress: string): void {
    if (this.enabled) this.#clients.add(clientGroup(clientAddress))
  }

  /** @internal Seconds until the attempt's client may try its subject again; 0 when it may now. */
  refusalSeconds (k: Keys): number {
    if (!this.enabled) return 0
    const pair = this.#pairs.read(k.pair)
    const all = this.#clients.read(k.client)
    let leftMs = 0
    if (pair.count >= this.#options.limit) leftMs = pair.leftMs
    if (all.count >= this.#options.clientLimit) leftMs = Math.max(leftMs, all.leftMs)
    return Math.ceil(leftMs / 1000)
  }

  /** @internal The account's failures in its (sliding) window. */
  accountFailures (k: Keys): number { return k.account === undefined ? 0 : this.#accounts.read(k.account).count }

  /** @internal This client's failures for this subject in the window. */
  pairFailures (k: Keys): number { return this.#pairs.read(k.pair).count }

  /** @internal Whether this client logged into this account before (exempt from its slowdown). */
  isKnown (k: Keys): boolean { return (this.#known.peek(k.pair) ?? 0) > this.#now() }

  /** @internal How long a check must wait for an account with `failures`: 0 below the limit, or for a known client. */
  delayFor (k: Keys, failures: number, known: boolean): number {
    if (!this.enabled || k.account === undefined || known) return 0
    const beyond = failures - this.#options.accountLimit
    return beyond < 0 ? 0 : Math.min(ACCOUNT_FIRST_DELAY_MS * 2 ** beyond, ACCOUNT_MAX_DELAY_MS)
  }

  /** @internal The lane a slowed attempt queues in: clients that failed for this account before, or those that did not. */
  lane (k: Keys, failedBefore: boolean): string {
    return `${k.account ?? ''} ${failedBefore ? 'failed' : 'new'}`
  }

  /** @internal Counts the attempt as a failure of its client until it is known to be none. */
  count (k: Keys): void {
    if (!this.enabled) return
    this.#pairs.add(k.pair)
    this.#clients.add(k.client)
  }

  /**
   * @internal Counts the attempt against its account, once its check is to run: a guess refused for want of a turn
   * costs its client but does not slow the account further (the delay follows the guesses actually checked).
   */
  countAccount (k: Keys): boolean {
    if (!this.enabled || k.account === undefined) return false
    this.#accounts.add(k.account)
    return true
  }

  /** @internal Takes the count back for an attempt that was no failure; a success also marks the client known. */
  settle (k: Keys, outcome: Outcome, accountCounted: boolean): void {
    if (!this.enabled || outcome === 'failure' || outcome === 'undecided-refused') return
    this.#clients.remove(k.client)
    if (accountCounted && k.account !== undefined) this.#accounts.remove(k.account)
    if (outcome === 'undecided') { this.#pairs.remove(k.pair); return }
    // A success clears its pair but not the account's count: the owner logging in must not hand a distributed
    // guesser a fresh allowance of fast guesses (the owner's own client is exempt from the slowdown instead).
    this.#pairs.clear(k.pair)
    if (k.account !== undefined) this.#known.set(k.pair, this.#now() + KNOWN_CLIENT_MS)
  }

  /** @internal */
  takeTurn (lane: string): boolean {
    if (this.#turns.has(lane)) return false
    this.#turns.add(lane)
    return true
  }

  /** @internal */
  endTurn (lane: string): void { this.#turns.delete(lane) }
}

/** A user name as directories compare it (NFKC, case, spaces), hashed: equal names for LDAP are one account here. */
export function accountKey (user: string): string {
  return digest(user.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim())
}

function digest (value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 16)
}
