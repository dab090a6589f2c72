// The one interface every credential check implements: htpasswd, static credentials and LDAP today; OpenID
// Connect later plugs in here without the proxy knowing which backend answered.

/** Where backends report what operators need to know (reloads, a directory going down). Never secrets. */
export interface BackendLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/**
 * Thrown by verify() when the credentials are right but the backend's policy refuses the user (e.g. not in a
 * required LDAP group). The client sees the same 401 as for a wrong password — answering differently would
 * confirm the password — while the log line says `auth: denied`.
 */
export class AccessDenied extends Error {
  override readonly name = 'AccessDenied'
}

/** Who the request is from, once a backend has accepted it. Passed upstream in USER_HEADER. */
export interface Identity {
  readonly user: string
  /** Backend that accepted the credentials, for logs and metrics. */
  readonly backend: string
  readonly groups?: readonly string[]
  /** OpenID Connect: the verified e-mail address, passed upstream in EMAIL_HEADER. */
  readonly email?: string
  /** OpenID Connect with OIDC_PASS_ACCESS_TOKEN: the access token, for apps that call APIs as the user. */
  readonly accessToken?: string
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\x00-\x1f\x7f]/

/**
 * Whether the identity can be passed to the app as it is. A user name or e-mail with a control character (CR, LF,
 * NUL…) cannot be a header value — from an OpenID provider or a directory it is input like any other (Envoy
 * CVE-2023-27493) — so such a login is refused rather than forwarded altered. Non-ASCII is fine (headers.ts).
 */
export function isForwardable (identity: Identity): boolean {
  return !CONTROL_RE.test(identity.user) && identity.user !== '' && (identity.email === undefined || !CONTROL_RE.test(identity.email))
}

export interface ReloadCounts { readonly success: number, readonly failure: number }

export interface CredentialBackend {
  /** Short stable name used in logs, metrics and readiness details, e.g. "htpasswd". */
  readonly name: string
  /**
   * Resolves to the identity when the credentials are valid and to null when they are not (unknown user or
   * wrong password alike). Rejects with AccessDenied when the user is valid but not allowed in, and with any
   * other error only when the backend cannot decide, e.g. a directory server is down: "unavailable" must never
   * be mistaken for "wrong password".
   */
  verify (user: string, password: string): Promise<Identity | null>
  /** True once the backend holds usable credentials. */
  ready (): boolean
  /**
   * Increases whenever the backend's credentials change (e.g. a reloaded file). A verify cache drops what it
   * learnt under an older generation, so a changed or removed password stops working at once.
   */
  generation? (): number
  /** Details for /readyz (e.g. a refused reload), never secrets. */
  status? (): object
  /** Reloads of changed credentials so far, taken and refused, for metrics. */
  reloadCounts? (): ReloadCounts
  /** Whether each member backend can answer now, by name (a composite's members; otherwise itself). */
  readiness? (): Record<string, boolean>
  close? (): Promise<void>
}

/**
 * Asks each backend in order (AUTH_BACKENDS); the first that accepts wins. When none accepts, a backend that
 * could not decide makes the answer "unavailable" (503: it might have accepted), then a denial, then "invalid".
 */
export class BackendChain implements CredentialBackend {
  readonly name = 'chain'
  readonly backends: readonly CredentialBackend[]

  constructor (backends: readonly CredentialBackend[]) {
    if (backends.length === 0) throw new Error('BackendChain needs at least one backend')
    this.backends = backends
  }

  async verify (user: string, password: string): Promise<Identity | null> {
    let failure: Error | undefined
    let denial: AccessDenied | undefined
    for (const backend of this.backends) {
      try {
        const identity = await backend.verify(user, password)
        if (identity !== null) return identity
      } catch (err) {
        // Remember, but let a later backend accept.
        if (err instanceof AccessDenied) denial ??= err
        else failure ??= err instanceof Error ? err : new Error(String(err))
      }
    }
    if (failure !== undefined) throw failure
    if (denial !== undefined) throw denial
    return null
  }

  /**
   * Ready while any backend can answer: with htpasswd and LDAP, a directory outage still lets htpasswd users in,
   * and taking the Pod out of the Service would lock them out too. /readyz names the backend that is down.
   */
  ready (): boolean {
    return this.backends.some((b) => b.ready())
  }

  generation (): number {
    // Every member's generation only grows, so the sum changes whenever any of them does.
    return this.backends.reduce((sum, b) => sum + (b.generation?.() ?? 0), 0)
  }

  status (): object {
    return Object.fromEntries(this.backends.map((b) => [b.name, b.status?.() ?? { ready: b.ready() }]))
  }

  readiness (): Record<string, boolean> {
    return Object.fromEntries(this.backends.map((b) => [b.name, b.ready()]))
  }

  reloadCounts (): ReloadCounts {
    let success = 0
    let failure = 0
    for (const b of this.backends) {
      const c = b.reloadCounts?.()
      success += c?.success ?? 0
      failure += c?.failure ?? 0
    }
    return { success, failure }
  }

  async close (): Promise<void> {
    await Promise.all(this.backends.map(async (b) => await b.close?.()))
  }
}
