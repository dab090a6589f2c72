// One login attempt through the failure throttle (throttle.ts), from arrival to verdict:
//   start() → refused now (429, seconds to wait), or counted with the delay its check must wait (0: at once);
//   a slowed attempt then needs its lane's turn (takeTurn(), else 429); end(outcome) once the verdict is in.
// With REDIS_URL the counting is shared by every replica (store/redis-throttle.ts): checked and counted in one
// atomic step, so a guesser spread over the replicas or across a restart is throttled as one. The replica's own
// counters always count too, and decide alone whenever Redis cannot answer in time — a Redis outage never opens the
// door and never turns into a 500 — so what the replicas share is at worst what each has by itself.
import { randomBytes } from 'node:crypto'
import { KNOWN_CLIENT_MS, type FailureThrottle, type Keys, type Outcome } from './throttle.ts'

/** What the shared counters say of an attempt they counted, or that it is refused (ms left). */
export type SharedVerdict =
  | { readonly refusedMs: number }
  | { readonly accountFailures: number, readonly known: boolean, readonly pairFailures: number, readonly accountCounted: boolean }

export interface SharedLimits { readonly limit: number, readonly clientLimit: number, readonly windowMs: number, readonly accountLimit: number }

/** The throttle's counters in a store every replica shares (store/redis-throttle.ts). Any call may reject. */
export interface SharedThrottle {
  readonly up: boolean
  /** Checks and counts the attempt in one atomic step; one whose check runs at once is counted against its account there too. */
  attempt (keys: Keys, limits: SharedLimits): Promise<SharedVerdict>
  countAccount (account: string, windowMs: number): Promise<void>
  takeTurn (lane: string, token: string, ttlMs: number): Promise<boolean>
  endTurn (lane: string, token: string): Promise<void>
  settle (keys: Keys, outcome: 'success' | 'undecided', accountCounted: boolean, knownMs: number): Promise<void>
  /** A shared call failed: this replica decided alone (counted for metrics). */
  fellBack (): void
}

export interface Start { readonly refusedFor: number, readonly delayMs: number }

/** How long a held turn may be kept at most, past its delay: a replica that dies holding one frees it by then. */
const TURN_SLACK_MS = 60_000

export class Attempt {
  readonly #throttle: FailureThrottle
  readonly #keys: Keys
  readonly #shared: SharedThrottle | undefined
  /** Counted in the shared store too (and so to be settled there). */
  #sharedCounted = false
  /** Counted against its account in the shared store already, by the same step that counted it. */
  #sharedAccountCounted = false
  #lane: string | undefined
  #turn: { readonly shared: boolean, readonly token: string } | undefined
  #delayMs = 0
  #accountCounted = false
  #ended = false

  constructor (throttle: FailureThrottle, keys: Keys, shared: SharedThrottle | undefined) {
    this.#throttle = throttle
    this.#keys = keys
    this.#shared = shared
  }

  async start (): Promise<Start> {
    const t = this.#throttle
    if (!t.enabled) return { refusedFor: 0, delayMs: 0 }
    const remote = await this.#askShared()
    if (remote !== undefined && 'refusedMs' in remote) return { refusedFor: Math.max(1, Math.ceil(remote.refusedMs / 1000)), delayMs: 0 }
    if (remote === undefined) {
      const refused = t.refusalSeconds(this.#keys)
      if (refused > 0) return { refusedFor: refused, delayMs: 0 }
    }
    // Read before this attempt counts: a client's first try at the account is in the lane of those that never failed.
    const failedBefore = remote?.pairFailures ?? t.pairFailures(this.#keys)
    const known = (remote?.known ?? false) || t.isKnown(this.#keys)
    this.#delayMs = t.delayFor(this.#keys, remote?.accountFailures ?? t.accountFailures(this.#keys), known)
    t.count(this.#keys) // the replica's own counters, for when Redis cannot answer
    if (this.#delayMs > 0) this.#lane = t.lane(this.#keys, failedBefore > 0)
    else this.#countAccount()
    return { refusedFor: 0, delayMs: this.#delayMs }
  }

  async #askShared (): Promise<SharedVerdict | undefined> {
    const shared = this.#shared
    if (shared === undefined) return undefined
    if (!shared.up) { shared.fellBack(); return undefined } // decided alone: counted like a failed call
    const { limit, clientLimit, windowMs, accountLimit } = this.#throttle.options
    try {
      const verdict = await shared.attempt(this.#keys, { limit, clientLimit, windowMs, accountLimit })
      this.#sharedCounted = !('refusedMs' in verdict)
      this.#sharedAccountCounted = 'accountCounted' in verdict && verdict.accountCounted
      return verdict
    } catch {
      shared.fellBack()
      return undefined
    }
  }

  #countAccount (): void {
    this.#accountCounted = this.#throttle.countAccount(this.#keys)
    const account = this.#keys.account
    if (this.#sharedCounted && !this.#sharedAccountCounted && account !== undefined) this.#shared?.countAccount(account, this.#throttle.options.windowMs).catch(() => { this.#shared?.fellBack() })
  }

  /** The one check at a time of a slowed account's lane; false when another holds it (the attempt stays counted). */
  async takeTurn (): Promise<boolean> {
    const lane = this.#lane
    if (lane === undefined) return true
    const token = randomBytes(9).toString('base64url')
    let taken: boolean | undefined
    if (this.#sharedCounted && this.#shared?.up === true) {
      try { taken = await this.#shared.takeTurn(lane, token, this.#delayMs + TURN_SLACK_MS) } catch { this.#shared.fellBack() }
    }
    const shared = taken !== undefined
    taken ??= this.#throttle.takeTurn(lane)
    if (!taken) { this.#lane = undefined; return false }
    this.#turn = { shared, token }
    this.#countAccount()
    return true
  }

  end (outcome: Outcome): void {
    if (this.#ended) return
    this.#ended = true
    const turn = this.#turn
    if (this.#lane !== undefined && turn !== undefined) {
      if (turn.shared) this.#shared?.endTurn(this.#lane, turn.token).catch(() => { this.#shared?.fellBack() })
      else this.#throttle.endTurn(this.#lane)
    }
    this.#throttle.settle(this.#keys, outcome, this.#accountCounted)
    if (this.#sharedCounted && (outcome === 'success' || outcome === 'undecided')) {
      this.#shared?.settle(this.#keys, outcome, this.#accountCounted, KNOWN_CLIENT_MS).catch(() => { this.#shared?.fellBack() })
    }
  }
}
