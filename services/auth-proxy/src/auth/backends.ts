// Builds the credential check from configuration: every configured backend, htpasswd first.
import type { Config } from '../config.ts'
import { BackendChain, type CredentialBackend } from './backend.ts'
import { HtpasswdBackend } from './htpasswd.ts'
import { StaticCredentials } from './static-credentials.ts'

export async function loadBackends (auth: Config['auth']): Promise<CredentialBackend> {
  const backends: CredentialBackend[] = []
  if (auth.htpasswdFile !== undefined) backends.push(await HtpasswdBackend.load(auth.htpasswdFile))
  if (auth.static !== undefined) backends.push(await StaticCredentials.load(auth.static))
  const [only, ...more] = backends
  return only !== undefined && more.length === 0 ? only : new BackendChain(backends) // the chain rejects none
}
