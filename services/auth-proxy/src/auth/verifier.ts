// Password verifiers for Basic credentials — htpasswd, a static user, LDAP — and the chain that asks them in
// AUTH_BACKENDS order. Behind the verify cache (verify-cache.ts) and the failure throttle (throttle.ts), which so
// apply to every one of them. The request side (which credentials a request carries) is authenticator.ts'.
import { AccessDenied, PartlyRefused } from '../errors.ts'
import type { Lifecycle } from './authenticator.ts'
import type { Identity } from './identity.ts'

export interface ReloadCounts { readonly success: number, readonly failure: number }

export interface PasswordVerifier extends Lifecycle {
  /**
   * Resolves to the identity when the credentials are valid and to null when they are not (unknown user or
   * wrong password alike). Rejects with AccessDenied when the user is valid but not allowed in, and with any
   * other error only when the backend cannot decide, e.g. a directory server is down: "unavailable" must never
   * be mistaken for "wrong password".
   */
  verify (user: string, password: string): Promise<Identity | null>
  /**
   * Increases whenever the backend's credentials change (e.g. a reloaded file). A verify cache drops what it
   * learnt under an older generation, so a changed or removed password stops working at once.
   */
  generation? (): number
  /**
   * Whether the backend holds this user, for backends that know without asking anyone (htpasswd, static). A chain
   * whose other member could not decide counts only a no from a backend that holds the user as a refusal: only
   * then would a 200 for the right password have told a guesser anything.
   */
  has? (user: string): boolean
  /** Reloads of changed credentials so far, taken and refused, for metrics. */
  reloadCounts? (): ReloadCounts
  /** Whether each member backend can answer now, by name (a composite's members; otherwise itself). */
  readiness? (): Record<string, boolean>
}

/**
 * Asks each backend in order (AUTH_BACKENDS); the first that accepts wins. When none accepts, a backend that
 * could not decide makes the answer "unavailable" (503: it might have accepted), then a denial, then "invalid".
 */
export class VerifierChain implements PasswordVerifier {
  readonly name = 'chain'
  readonly backends: readonly PasswordVerifier[]

  constructor (backends: readonly PasswordVerifier[]) {
    if (backends.length === 0) throw new Error('VerifierChain needs at least one backend')
    this.backends = backends
  }

  async verify (user: string, password: string): Promise<Identity | null> {
    let failure: Error | undefined
    let denial: AccessDenied | undefined
    const refusedBy: string[] = []
    for (const backend of this.backends) {
      try {
        const identity = await backend.verify(user, password)
        if (identity !== null) return identity
        if (backend.has?.(user) ?? true) refusedBy.push(backend.name)
      } catch (err) {
        // Remember, but let a later backend accept.
        if (err instanceof AccessDenied) { denial ??= err; refusedBy.push(backend.name) } else failure ??= err instanceof Error ? err : new Error(String(err))
      }
    }
    if (failure !== undefined) throw refusedBy.length > 0 ? new PartlyRefused(refusedBy, failure) : failure
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
