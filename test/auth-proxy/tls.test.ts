// HTTPS on the public port, with the certificate swapped in place when its files change (service-serving
// certificates are rotated by OpenShift), and clear start-up errors for unusable files.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../../services/auth-proxy/src/app.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { makeCa, makeServerCert } from '../helpers/certs.ts'
import { basic } from '../helpers/http.ts'
import { tempDir } from '../helpers/htpasswd.ts'
import { startProxy } from '../helpers/proxy.ts'
import { startUpstream, type Received } from '../helpers/upstream.ts'

const CREDS = { AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' }

async function get (url: string, ca: Buffer): Promise<{ status: number, body: string, fingerprint: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, headers: { authorization: basic('admin', 'admin1041') } }, (res) => {
      const fingerprint = (res.socket as unknown as { getPeerCertificate (): { fingerprint256: string } }).getPeerCertificate().fingerprint256
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, fingerprint }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('HTTPS with a CA-signed certificate; the app learns the request was https; rotation without restart', async (t) => {
  const dir = tempDir()
  const ca = readFileSync(makeCa(dir.path))
  const first = makeServerCert(dir.path, 'first')
  const second = makeServerCert(dir.path, 'second')
  const certFile = join(dir.path, 'tls.crt')
  const keyFile = join(dir.path, 'tls.key')
  copyFileSync(first.cert, certFile)
  copyFileSync(first.key, keyFile)
  const upstream = await startUpstream()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_RELOAD_INTERVAL: '100ms' })
  t.teardown(async () => { await proxy.close(); await upstream.close(); dir.remove() })
  const url = proxy.url.replace('http:', 'https:')

  const a = await get(`${url}/`, ca)
  t.equal(a.status, 200)
  const received = JSON.parse(a.body) as Received
  t.equal(received.headers['x-forwarded-proto'], 'https')
  t.match(received.headers.forwarded, /proto=https/)

  // Rotate: key first, then certificate, as a platform might (the mismatched moment is refused, not served).
  copyFileSync(second.key, keyFile)
  copyFileSync(second.cert, certFile)
  const started = Date.now()
  let b = await get(`${url}/`, ca)
  while (b.fingerprint === a.fingerprint && Date.now() - started < 5_000) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    b = await get(`${url}/`, ca)
  }
  t.not(b.fingerprint, a.fingerprint, `new certificate served after ${Date.now() - started} ms`)
  t.equal(b.status, 200)

  // A broken replacement keeps the current certificate.
  writeFileSync(certFile, 'not a certificate')
  await new Promise((resolve) => setTimeout(resolve, 400))
  const c = await get(`${url}/`, ca)
  t.equal(c.fingerprint, b.fingerprint, 'previous certificate still served')
  t.ok(proxy.logs.some((l) => l.msg === 'TLS certificate reload failed; keeping the previous one'))
  t.ok(proxy.logs.some((l) => l.msg === 'TLS certificate reloaded'))
})

t.test('start-up: unreadable or mismatched files are errors naming the variables', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  makeCa(dir.path)
  const one = makeServerCert(dir.path, 'one')
  const two = makeServerCert(dir.path, 'two')
  t.throws(() => buildApp(loadConfig({ ...CREDS, TLS_CERT_FILE: '/nonexistent.crt', TLS_KEY_FILE: one.key })), {
    code: 'AUTH_PROXY_ERR_TLS_LOAD', message: /^TLS_CERT_FILE: cannot read \/nonexistent.crt \(ENOENT\)$/
  })
  t.throws(() => buildApp(loadConfig({ ...CREDS, TLS_CERT_FILE: one.cert, TLS_KEY_FILE: two.key })), {
    code: 'AUTH_PROXY_ERR_TLS_LOAD', message: /TLS_CERT_FILE\/TLS_KEY_FILE: not a usable certificate and matching key/
  })
  t.throws(() => loadConfig({ ...CREDS, TLS_CERT_FILE: one.cert }), /TLS_KEY_FILE: must be set together with TLS_CERT_FILE/)
})
