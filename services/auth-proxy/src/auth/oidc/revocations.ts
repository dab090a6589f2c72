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
  /** True the first time `jti` is seen (a logout token replayed is refused), remembered until `until`. */
  firstSeen (jti: string, until: number): Promise<boolean>
}

/** Every replica reads all shared revocations this often too: a missed announcement is noticed within it. */
export const RESYNC_MS = 30_000

/** Entries kept per kind at most; the oldest go first (they expire first too). */
const MAX_ENTRIES = 100_000

function nowS (): number { return Math.floor(Date.now() / 1000) }

export class Revocations {
  readonly #sessions = new Lru<string, number>(MAX_ENTRIES)
  readonly #providerSessions = new Lru<string, number>(MAX_ENTRIES)
  readonly #subjects = new Lru<string, { before: number, until: number }>(MAX_ENTRIES)
  readonly #jtis = new Lru<string, number>(MAX_ENTRIES)
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

  /** Revokes here at once, and on every replica when the feed takes it. */
  async revoke (r: Revocation): Promise<void> {
    this.#apply(r)
    if (this.#feed === undefined) return
    try {
      await this.#feed.publish(r)
      this.published++
    } catch {
      this.#pending.push(r)
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
      const pending = this.#pending
      this.#pending = []
      for (const r of pending) await this.revoke(r)
    } catch {
      // Down again: the next reconnect tries again.
    }
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
