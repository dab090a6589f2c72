// Builds the credential check from configuration: the configured backends in AUTH_BACKENDS order, behind the
// verify cache (which, like the failure throttle in front of it, so applies to every backend).
import type { BackendName, Config } from '../config.ts'
import { BackendChain, type BackendLog, type CredentialBackend } from './backend.ts'
import { HtpasswdBackend } from './htpasswd.ts'
import { LdapBackend } from './ldap.ts'
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
    case 'ldap':
      return auth.ldap === undefined ? undefined : await LdapBackend.load(auth.ldap, log)
  }
}

export async function loadBackends (auth: Config['auth'], log: BackendLog): Promise<CachedBackend> {
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
  return new CachedBackend(backend, auth.cache)
}
