// Path confusion: the proxy must never authorise one path while the app serves another.
import t from 'tap'
import { unsafePathReason } from '../../../services/auth-proxy/src/proxy/request-guard.ts'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { startUpstream } from '../../helpers/upstream.ts'

const ATTACKS: Array<[string, string]> = [
  ['/a/../b', 'dot-segment'],
  ['/..', 'dot-segment'],
  ['/a/.', 'dot-segment'],
  ['/a/%2e%2e/b', 'dot-segment'],
  ['/a/%2E%2E/b', 'dot-segment'],
  ['/a/.%2e/b', 'dot-segment'],
  ['/a/%2e./b', 'dot-segment'],
  ['/a/%2e/b', 'dot-segment'],
  ['/..%2fetc/passwd', 'dot-segment'],
  ['/a%2F..%2Fb', 'dot-segment'],
  ['/static/%2e%2e%2fsecret', 'dot-segment'],
  ['/a\\b', 'backslash or NUL'],
  ['/a%5c..%5cb', 'backslash or NUL'],
  ['/a%5Cb', 'backslash or NUL'],
  ['/file%00.txt', 'backslash or NUL'],
  ['/%', 'malformed percent-encoding'],
  ['/%zz', 'malformed percent-encoding'],
  ['/a%2', 'malformed percent-encoding']
]

t.test('unsafePathReason names each trick', async (t) => {
  for (const [path, reason] of ATTACKS) t.equal(unsafePathReason(path), reason, path)
})

t.test('ordinary paths pass, including dots inside names and encoded slashes', async (t) => {
  for (const path of ['/', '/a.b', '/...', '/a/..b', '/.well-known/x', '/a%2Fb', '/a?x=../y', '/q?p=%5c']) {
    t.equal(unsafePathReason(path), undefined, path)
  }
})

t.test('through the proxy: each trick is a 400 before authentication and never reaches the app', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (const [path] of ATTACKS) {
    const anonymous = await send(`${proxy.url}${path}`)
    t.equal(anonymous.status, 400, `${path} without credentials`)
    const authed = await send(`${proxy.url}${path}`, { headers: { authorization: basic('admin', 'admin1041') } })
    t.equal(authed.status, 400, `${path} with credentials`)
  }
  t.equal(upstream.received.length, 0)
})
