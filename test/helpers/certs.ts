// Certificates made by the real openssl for the TLS tests: a CA and server certificates it signs.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export interface ServerCert { readonly cert: string, readonly key: string }

/** A CA in `dir` (ca.crt, ca.key). */
export function makeCa (dir: string): string {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=auth-proxy test CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')], { stdio: 'ignore' })
  return join(dir, 'ca.crt')
}

/** A server certificate for 127.0.0.1/localhost signed by the CA, written as NAME.crt / NAME.key. */
export function makeServerCert (dir: string, name: string): ServerCert {
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const cert = join(dir, `${name}.crt`)
  const ext = join(dir, `${name}.ext`)
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr], { stdio: 'ignore' })
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`])
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', ext, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}
