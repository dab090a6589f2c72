// HTTPS on the public port (TLS_CERT_FILE / TLS_KEY_FILE), e.g. for OpenShift re-encrypt Routes with a
// service-serving certificate. The certificate is re-read when its files change — serving certificates are
// rotated by the platform — and swapped in with setSecureContext, without dropping connections.
import { readFileSync } from 'node:fs'
import type { Server } from 'node:https'
import { createSecureContext } from 'node:tls'
import type { Config } from './config.ts'
import { TlsLoadError } from './errors.ts'
import { cannotRead, FilePoller } from './util/files.ts'
import type { OperatorLog } from './log.ts'

export interface TlsMaterial { readonly cert: Buffer, readonly key: Buffer }
type TlsConfig = NonNullable<Config['tls']>

/** Reads and checks the pair; errors name the variable. Synchronous: it runs once at start-up, before listening. */
export function readTlsFiles (tls: TlsConfig): TlsMaterial {
  const read = (name: string, path: string): Buffer => {
    try {
      return readFileSync(path)
    } catch (err) {
      throw new TlsLoadError(cannotRead(name, path, err), { cause: err })
    }
  }
  const material = { cert: read('TLS_CERT_FILE', tls.certFile), key: read('TLS_KEY_FILE', tls.keyFile) }
  try {
    createSecureContext(material)
  } catch (err) {
    throw new TlsLoadError(`TLS_CERT_FILE/TLS_KEY_FILE: not a usable certificate and matching key (${(err as Error).message})`, { cause: err })
  }
  return material
}

/** Polls both files; a valid new pair replaces the served one, an invalid one is logged and ignored. */
export function watchTlsFiles (server: Server, tls: TlsConfig, log: OperatorLog): () => void {
  const poller = new FilePoller([tls.certFile, tls.keyFile], () => {
    try {
      server.setSecureContext(readTlsFiles(tls))
      log.info({ cert: tls.certFile }, 'TLS certificate reloaded')
      return Promise.resolve(true)
    } catch (err) {
      // Typically the two files caught mid-update: the next change (the other file) retries.
      log.error({ err: { message: (err as Error).message } }, 'TLS certificate reload failed; keeping the previous one')
      return Promise.resolve(false)
    }
  })
  void poller.check() // the first check takes the files as served
  poller.start(tls.reloadMs)
  return () => { poller.stop() }
}
