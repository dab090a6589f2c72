// The failure throttle's counters in Redis, shared by every replica (auth/attempt.ts decides; this only counts).
// Each step is one Lua script, atomic on the server, so two replicas can never both let the last allowed guess
// through. Keys expire with their window — client + name and client counts a window after their first failure
// (fixed), an account's a window after its last (sliding), a lane's turn with its delay — so the store stays
// bounded by what attackers do within one window.
import type { Keys } from '../auth/throttle.ts'
import type { SharedLimits, SharedThrottle, SharedVerdict } from '../auth/attempt.ts'
import type { RedisStore } from './redis.ts'

// KEYS: pair, client, account, known. ARGV: limit, clientLimit, windowMs, accountLimit, has account (1 | 0).
// Refused: {0, ms left}. Counted: {1, account failures before, known 0/1, the pair's failures before this one,
// account counted 0/1}. An attempt whose check runs at once (the account below its limit, or a known client) is
// counted against the account here, in the same step: counted later, a burst from many addresses would all read
// the old count and all go unslowed.
const ATTEMPT = `
local pair = tonumber(redis.call('GET', KEYS[1]) or '0')
if pair >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
local client = tonumber(redis.call('GET', KEYS[2]) or '0')
if client >= tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[2])} end
local account = tonumber(redis.call('GET', KEYS[3]) or '0')
local known = redis.call('EXISTS', KEYS[4])
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
local counted = 0
if ARGV[5] == '1' and (account < tonumber(ARGV[4]) or known == 1) then
  redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  counted = 1
end
return {1, account, known, pair, counted}`

// KEYS: pair, client, account, known. ARGV: outcome (success | undecided), account counted (1 | 0), knownMs.
const SETTLE = `
local function down (k) if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end end
down(KEYS[2])
if ARGV[2] == '1' then down(KEYS[3]) end
if ARGV[1] == 'undecided' then down(KEYS[1]) else
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
end
return 1`

// KEYS: account. ARGV: windowMs. Sliding: every failure pushes the end of the window out.
const COUNT_ACCOUNT = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

// KEYS: lane. ARGV: token. Only the holder ends its turn.
const END_TURN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`

export class RedisThrottle implements SharedThrottle {
  readonly #redis: RedisStore
  /** Shared calls that failed (this replica decided alone), for metrics. */
  fallbacks = 0

  constructor (redis: RedisStore) { this.#redis = redis }

  get up (): boolean { return this.#redis.up }

  #keys (k: Keys): string[] {
    const r = this.#redis
    return [r.key('t', 'p', k.pair), r.key('t', 'c', k.client), r.key('t', 'a', k.account ?? ''), r.key('t', 'k', k.pair)]
  }

  async attempt (k: Keys, limits: SharedLimits): Promise<SharedVerdict> {
    const reply = await this.#redis.script(ATTEMPT, this.#keys(k),
      [limits.limit, limits.clientLimit, limits.windowMs, limits.accountLimit, k.account === undefined ? 0 : 1]) as Array<number | undefined>
    const [status = 0, a = 0, known = 0, pair = 0, counted = 0] = reply
    if (status === 0) return { refusedMs: a > 0 ? a : limits.windowMs }
    return { accountFailures: k.account === undefined ? 0 : a, known: known === 1, pairFailures: pair, accountCounted: counted === 1 }
  }

  async countAccount (account: string, windowMs: number): Promise<void> {
    await this.#redis.script(COUNT_ACCOUNT, [this.#redis.key('t', 'a', account)], [windowMs])
  }

  async takeTurn (lane: string, token: string, ttlMs: number): Promise<boolean> {
    return await this.#redis.command(['SET', this.#redis.key('t', 'l', lane), token, 'NX', 'PX', String(ttlMs)]) === 'OK'
  }

  async endTurn (lane: string, token: string): Promise<void> {
    await this.#redis.script(END_TURN, [this.#redis.key('t', 'l', lane)], [token])
  }

  async settle (k: Keys, outcome: 'success' | 'undecided', accountCounted: boolean, knownMs: number): Promise<void> {
    await this.#redis.script(SETTLE, this.#keys(k), [outcome, accountCounted ? '1' : '0', knownMs])
  }

  fellBack (): void { this.fallbacks++ }
}
