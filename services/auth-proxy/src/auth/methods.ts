// The credential methods in force, built from configuration: Basic's password verifiers in AUTH_BACKENDS order
// behind the verify cache, and OpenID Connect (its client and the browser login); what they are together for
// readiness, /readyz, metrics and shutdown; and the order their request authenticators are tried in.
// LDAP and OpenID Connect load their libraries only when configured: start-up time matters to a sidecar.
import type { AuthConfig, BackendName } from '../config.ts'
import type { OperatorLog } from '../log.ts'
import type { Lifecycle } from './authenticator.ts'
import { HtpasswdBackend } from './basic/htpasswd.ts'
import { StaticCredentials } from './basic/static-credentials.ts'
import type { OidcLogin } from './oidc/login.ts'
import type { RevocationFeed } from './oidc/revocations.ts'
import { CachedBackend } from './verify-cache.ts'
import { VerifierChain, type PasswordVerifier, type ReloadCounts } from './verifier.ts'

async function loadVerifier (name: Exclude<BackendName, 'oidc'>, auth: AuthConfig, log: OperatorLog): Promise<PasswordVerifier | undefined> {
  switch (name) {
    case 'htpasswd': {
      if (auth.htpasswdFile === undefined) return undefined
      const htpasswd = await HtpasswdBackend.load(auth.htpasswdFile, log)
      htpasswd.watch(auth.htpasswdReloadMs)
      return htpasswd
    }
    case 'static':
      return auth.static === undefined ? undefined : await StaticCredentials.load(auth.static)
    case 'ldap':
      return auth.ldap === undefined ? undefined : await (await import('./ldap/ldap.ts')).LdapBackend.load(auth.ldap, log)
  }
}

async function loadLogin (auth: AuthConfig, log: OperatorLog, shared: SharedParts): Promise<OidcLogin | undefined> {
  if (auth.oidc === undefined || auth.session === undefined) return undefined
  const [{ OidcClient }, { OidcLogin }, { loadSessionStore }, { Revocations }] = await Promise.all([
    import('./oidc/client.ts'), import('./oidc/login.ts'), import('./oidc/session.ts'), import('./oidc/revocations.ts')])
  const client = await OidcClient.create(auth.oidc, log)
  try {
    const revocations = new Revocations(shared.revocationFeed)
    await revocations.start()
    return new OidcLogin(client, await loadSessionStore(auth.session), auth.pathPrefix, { cookieSecure: auth.session.cookieSecure, returnDomains: auth.returnDomains, revocations })
  } catch (err) {
    client.close()
    throw err
  }
}

/** Every method in force, as one thing to ask: ready while any can answer (an LDAP outage must not lock out htpasswd users). */
export class AuthMethods implements Lifecycle {
  readonly name = 'methods'
  /** Basic's verifiers (htpasswd, static, LDAP) behind the verify cache, when any is configured. */
  readonly verifier?: CachedBackend
  readonly login?: OidcLogin
  /** Basic before or after OpenID Connect's bearer token: where `oidc` stands in AUTH_BACKENDS (a session is always first). */
  readonly oidcFirst: boolean
  readonly #members: readonly Lifecycle[]

  constructor (verifiers: readonly PasswordVerifier[], login: OidcLogin | undefined, auth: AuthConfig) {
    const [only, ...more] = verifiers
    if (only !== undefined) this.verifier = new CachedBackend(more.length === 0 ? only : new VerifierChain(verifiers), auth.cache)
    if (login !== undefined) this.login = login
    // The request authenticators' order (authenticate.ts): where `oidc` stands among AUTH_BACKENDS.
    this.oidcFirst = auth.backends.indexOf('oidc') < Math.max(0, auth.backends.findIndex((b) => b !== 'oidc'))
    const oidc: Lifecycle | undefined = login === undefined
      ? undefined
      : { name: 'oidc', ready: () => login.client.ready(), status: () => ({ ...login.client.status(), revocations: login.revocations.status() }), close: async () => { login.client.close(); login.revocations.stop(); await Promise.resolve() } }
    this.#members = [...verifiers, ...(oidc === undefined ? [] : [oidc])]
  }

  ready (): boolean { return this.#members.some((m) => m.ready()) }

  /** One method: its own status; several: each by name. */
  status (): object {
    const [only, ...more] = this.#members
    if (only !== undefined && more.length === 0) return only.status?.() ?? { ready: only.ready() }
    return Object.fromEntries(this.#members.map((m) => [m.name, m.status?.() ?? { ready: m.ready() }]))
  }

  /** Whether each method can answer now, by name (auth_proxy_backend_up). */
  readiness (): Record<string, boolean> {
    return Object.fromEntries(this.#members.map((m) => [m.name, m.ready()]))
  }

  reloadCounts (): ReloadCounts { return this.verifier?.reloadCounts() ?? { success: 0, failure: 0 } }
  get hits (): number { return this.verifier?.hits ?? 0 }
  get misses (): number { return this.verifier?.misses ?? 0 }

  async close (): Promise<void> {
    await Promise.all(this.#members.map(async (m) => await m.close?.()))
  }
}

/** What the methods share with other replicas (REDIS_URL): none without it. */
export interface SharedParts { readonly revocationFeed?: RevocationFeed }

export async function loadMethods (auth: AuthConfig, log: OperatorLog, shared: SharedParts = {}): Promise<AuthMethods> {
  const verifiers: PasswordVerifier[] = []
  try {
    for (const name of auth.backends) {
      if (name === 'oidc') continue
      const verifier = await loadVerifier(name, auth, log)
      if (verifier !== undefined) verifiers.push(verifier)
    }
    return new AuthMethods(verifiers, await loadLogin(auth, log, shared), auth)
  } catch (err) {
    await Promise.all(verifiers.map(async (v) => await v.close?.())) // no timers left behind a failed start
    throw err
  }
}
