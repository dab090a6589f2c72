// Builds the credential check from configuration: every configured backend, htpasswd first, behind the
// verify cache.
import type { Config } from '../config.ts'
import { BackendChain, type CredentialBackend } from './backend.ts'
import { HtpasswdBackend, type BackendLog } from './htpasswd.ts'
import { StaticCredentials } from './static-credentials.ts'
import { CachedBackend } from './verify-cache.ts'

export async function loadBackends (auth: Config['auth'], log: BackendLog): Promise<CachedBackend> {
  const backends: CredentialBackend[] = []
  if (auth.htpasswdFile !== undefined) {
    const htpasswd = await HtpasswdBackend.load(auth.htpasswdFile, log)
    htpasswd.watch(auth.htpasswdReloadMs)
    backends.push(htpasswd)
  }
  if (auth.static !== undefined) backends.push(await StaticCredentials.load(auth.static))
  const [only, ...more] = backends
  const backend = only !== undefined && more.length === 0 ? only : new BackendChain(backends) // the chain rejects none
  return new CachedBackend(backend, auth.cache)
}
