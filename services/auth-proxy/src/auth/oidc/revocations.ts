// Sessions that must not be accepted any more although their cookie is still valid: logged out (a stolen copy of
// the cookie must not outlive the logout), logged out everywhere (every session of the user issued before then),
// or ended by the provider (OpenID Connect Back-Channel Logout 1.0: the provider's session id, or its subject).
// Every check is a lookup in this replica's memory — no round trip on the hot path. With REDIS_URL the entries are
// shared (store/redis-revocations.ts): published to every replica at once, and read back in full whenever the
// connection is (re)established, so a replica that missed messages while Redis was down catches up. A revocation
// made while Redis is down holds here at once and is published when it answers again. Each entry lives until the
// sessions it covers would have expired anyway, so the lists stay as small as the logouts of one session lifetime.
import { Lru } from '../../util/lru.ts'

export type Revocation =
  /** One session, by the proxy's own session id. */
  | { readonly kind: 'session', readonly id: string, readonly until: number }
  /** The sessions of one provider session (the ID token's `sid`). */
  | { readonly kind: 'provider-session', readonly id: string, readonly until: number }
  /** Every session of one subject (`sub`) logged in at or before `before` (milliseconds since the epoch). */
  | { readonly kind: 'subject', readonly id: string, readonly before: number, readonly until: number }

/** What the revocation check reads of a session; `lat`: when its login happened, in milliseconds. */
export interface RevocableSession { readonly sid: string, readonly psid?: string, readonly sub?: string, readonly lat?: number }

/** Where revocations are shared between replicas. Any call may reject (the store is down). */
export interface RevocationFeed {
  readonly up: boolean
  publish (r: Revocation): Promise<void>
  /** Every revocation recorded and not yet expired. */
  all (): Promise<Revocation[]>
  /** Revocations made by any replica, as they happen; and the moment to read them all again (a reconnect). */
  listen (onRevocation: (r: Revocation) => void, onReconnect: () => void): Promise<void>
  /**
   * Marks the store as holding this deployment's revocations; false when the mark was missing (the first replica
   * ever, or a Redis that lost its data): then every replica publishes what it holds, so replicas started after a
   * Redis restart without persistence still learn the revocations the running ones remember.
   */
  claimEpoch (): Promise<boolean>
  /** True the first time `jti` is seen (a logout token replayed is refused), remembered until `until`. */
  firstSeen (jti: string, until: number): Promise<boolean>
}

/** Every replica reads all shared revocations this often too: a missed announcement is noticed within it. */
export const RESYNC_MS = 30_000

/**
 * Entries kept per kind at most; past it the first made goes first (sessions of one lifetime: roughly the first to
 * expire). Reaching it takes 100,000 logouts within a session lifetime by 10,000 users or more: a user's
 * SESSION_LOGOUTS_PER_SUBJECT-th logout becomes one entry for all their sessions (countLogout).
 */
const MAX_ENTRIES = 100_000
/** Logouts of one user within a session lifetime that are each recorded alone; the next ends all their sessions. */
export const SESSION_LOGOUTS_PER_SUBJECT = 10

function nowS (): number { return Math.floor(Date.now() / 1000) }

export class Revocations {
  readonly #sessions = new Lru<string, number>(MAX_ENTRIES)
  readonly #providerSessions = new Lru<string, number>(MAX_ENTRIES)
  readonly #subjects = new Lru<string, { before: number, until: number }>(MAX_ENTRIES)
  readonly #jtis = new Lru<string, number>(MAX_ENTRIES)
  readonly #logouts = new Lru<string, { n: number, until: number }>(MAX_ENTRIES)
  readonly #feed: RevocationFeed | undefined
  /** Made while the feed could not take them: published at the next reconnect. */
  #pending: Revocation[] = []
  #timer: NodeJS.Timeout | undefined
  published = 0

  constructor (feed?: RevocationFeed) { this.#feed = feed }

  /**
   * Starts listening to the other replicas and reads what they revoked so far (when the feed answers); reads it all
   * again on every reconnect and every RESYNC_MS, which bounds how long a missed announcement can go unnoticed.
   */
  async start (): Promise<void> {
    if (this.#feed === undefined) return
    await this.#feed.listen((r) => { this.#apply(r) }, () => { void this.resync() })
    await this.resync()
    this.#timer = setInterval(() => { if (this.#feed?.up === true) void this.resync() }, RESYNC_MS).unref()
  }

  stop (): void { clearInterval(this.#timer) }

  isRevoked (s: RevocableSession): boolean {
    const now = nowS()
    if ((this.#sessions.peek(s.sid) ?? 0) > now) return true
    if (s.psid !== undefined && (this.#providerSessions.peek(s.psid) ?? 0) > now) return true
    const subject = s.sub === undefined ? undefined : this.#subjects.peek(s.sub)
    return subject !== undefined && subject.until > now && (s.lat ?? 0) <= subject.before
  }

  /**
   * Counts a logout of `sub` made at this replica; true once it is the SESSION_LOGOUTS_PER_SUBJECT-th within
   * `lifetimeS` (then the caller revokes the subject, one entry covering every session, instead of this one).
   */
  countLogout (sub: string, lifetimeS: number): boolean {
    const now = nowS()
    const seen = this.#logouts.peek(sub)
    const n = seen !== undefined && seen.until > now ? seen.n + 1 : 1
    this.#logouts.set(sub, { n, until: seen !== undefined && seen.until > now ? seen.until : now + lifetimeS })
    return n >= SESSION_LOGOUTS_PER_SUBJECT
  }

  /** Revokes here at once, and on every replica when the feed takes it. */
  async revoke (r: Revocation): Promise<void> {
    this.#apply(r)
    if (this.#feed === undefined) return
    try {
      await this.#feed.publish(r)
      this.published++
    } catch {
      this.#pending.push(r)
      if (this.#pending.length > MAX_ENTRIES) this.#pending.shift() // held here regardless; only its announcement is lost
    }
  }

  /** A logout token's `jti`, the first time: a replay is refused (shared across replicas with the feed). */
  async firstSeen (jti: string, until: number): Promise<boolean> {
    if ((this.#jtis.peek(jti) ?? 0) > nowS()) return false
    this.#jtis.set(jti, until)
    if (this.#feed === undefined || !this.#feed.up) return true
    try { return await this.#feed.firstSeen(jti, until) } catch { return true }
  }

  /** Reads every shared revocation (after a reconnect: what was missed), then publishes what was made meanwhile. */
  async resync (): Promise<void> {
    const feed = this.#feed
    if (feed === undefined) return
    try {
      for (const r of await feed.all()) this.#apply(r)
      const pending = await feed.claimEpoch() ? this.#pending : [...this.#held()]
      this.#pending = []
      for (const r of pending) await this.revoke(r)
    } catch {
      // Down again: the next reconnect tries again.
    }
  }

  /** Every revocation held here and not yet expired (pending ones included: they were applied when made). */
  * #held (): Generator<Revocation> {
    const now = nowS()
    for (const [id, until] of this.#sessions.entries()) if (until > now) yield { kind: 'session', id, until }
    for (const [id, until] of this.#providerSessions.entries()) if (until > now) yield { kind: 'provider-session', id, until }
    for (const [id, s] of this.#subjects.entries()) if (s.until > now) yield { kind: 'subject', id, before: s.before, until: s.until }
  }

  #apply (r: Revocation): void {
    if (r.until <= nowS()) return
    if (r.kind === 'session') this.#sessions.set(r.id, Math.max(r.until, this.#sessions.peek(r.id) ?? 0))
    else if (r.kind === 'provider-session') this.#providerSessions.set(r.id, Math.max(r.until, this.#providerSessions.peek(r.id) ?? 0))
    else {
      const old = this.#subjects.peek(r.id)
      this.#subjects.set(r.id, { before: Math.max(r.before, old?.before ?? 0), until: Math.max(r.until, old?.until ?? 0) })
    }
  }

  status (): object {
    return {
      sessions: this.#sessions.size, providerSessions: this.#providerSessions.size, subjects: this.#subjects.size,
      pending: this.#pending.length, ...(this.#feed !== undefined && { shared: this.#feed.up })
    }
  }
}
