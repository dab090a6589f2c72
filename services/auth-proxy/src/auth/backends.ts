// Builds the credential check from configuration: the configured backends in AUTH_BACKENDS order, behind the
// verify cache (which, like the failure throttle in front of it, so applies to every backend).
import type { BackendName, Config } from '../config.ts'
import { BackendChain, type BackendLog, type CredentialBackend } from './backend.ts'
import { HtpasswdBackend } from './htpasswd.ts'
import type { OidcClient } from './oidc.ts'
import { OIDC_BACKEND_NAME } from './oidc-config.ts'
import { StaticCredentials } from './static-credentials.ts'
import { CachedBackend } from './verify-cache.ts'

async function loadOne (name: BackendName, auth: Config['auth'], log: BackendLog): Promise<CredentialBackend | undefined> {
  switch (name) {
    case 'htpasswd': {
      if (auth.htpasswdFile === undefined) return undefined
      const htpasswd = await HtpasswdBackend.load(auth.htpasswdFile, log)
      htpasswd.watch(auth.htpasswdReloadMs)
      return htpasswd
    }
    case 'static':
      return auth.static === undefined ? undefined : await StaticCredentials.load(auth.static)
    // LDAP and OpenID Connect libraries are loaded only when configured: start-up time matters to a sidecar.
    case 'ldap':
      return auth.ldap === undefined ? undefined : await (await import('./ldap.ts')).LdapBackend.load(auth.ldap, log)
    case 'oidc':
      return auth.oidc === undefined ? undefined : new OidcBackend(await (await import('./oidc.ts')).OidcClient.create(auth.oidc, log))
  }
}

/**
 * OpenID Connect in the backend chain: it checks no passwords (logins go through the provider, see
 * authenticate.ts), but it is ready, reports status, shows in metrics and closes like every other backend.
 */
export class OidcBackend implements CredentialBackend {
  readonly name = OIDC_BACKEND_NAME
  readonly client: OidcClient
  constructor (client: OidcClient) { this.client = client }
  async verify (): Promise<null> { return await Promise.resolve(null) }
  ready (): boolean { return this.client.ready() }
  status (): object { return this.client.status() }
  async close (): Promise<void> { this.client.close(); await Promise.resolve() }
}

export interface LoadedBackends {
  /** Every backend, behind the verify cache: readiness, status, metrics, and Basic credential checks. */
  readonly credentials: CachedBackend
  /** Whether any backend checks Basic credentials (htpasswd, static, LDAP). */
  readonly basic: boolean
  readonly oidc?: OidcClient
}

export async function loadBackends (auth: Config['auth'], log: BackendLog): Promise<LoadedBackends> {
  const backends: CredentialBackend[] = []
  try {
    for (const name of auth.backends) {
      const backend = await loadOne(name, auth, log)
      if (backend !== undefined) backends.push(backend)
    }
  } catch (err) {
    await Promise.all(backends.map(async (b) => await b.close?.())) // no timers left behind a failed start
    throw err
  }
  const [only, ...more] = backends
  const backend = only !== undefined && more.length === 0 ? only : new BackendChain(backends) // the chain rejects none
  const oidc = backends.find((b): b is OidcBackend => b instanceof OidcBackend)?.client
  return {
    credentials: new CachedBackend(backend, auth.cache),
    basic: backends.some((b) => !(b instanceof OidcBackend)),
    ...(oidc !== undefined && { oidc })
  }
}
