// Header attacks, each named after what it tries. The upstream must see only what the proxy vouches for.
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { groupsValue } from '../../../services/auth-proxy/src/proxy/headers.ts'
import { startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { startUpstream, type Received, type Upstream } from '../../helpers/upstream.ts'

const AUTH = basic('admin', 'admin1041')
let upstream: Upstream
let proxy: RunningProxy

t.before(async () => {
  upstream = await startUpstream((_req, res, received) => {
    res.setHeader('content-type', 'application/json')
    res.setHeader('connection', 'keep-alive, X-Internal')
    res.setHeader('x-internal', 'upstream-only')
    res.setHeader('keep-alive', 'timeout=5')
    res.setHeader('proxy-authenticate', 'Basic realm="inner"')
    res.end(JSON.stringify(received))
  })
  proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
})
t.teardown(async () => {
  await proxy.close()
  await upstream.close()
})

async function forwarded (rawHeaders: string[], p: RunningProxy = proxy): Promise<Received> {
  // Raw header lists get no automatic Host from node:http; HTTP/1.1 requires one (RFC 9112 §3.2).
  const host = rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host') ? [] : ['Host', new URL(p.url).host]
  const res = await send(`${p.url}/`, { rawHeaders: ['Authorization', AUTH, ...host, ...rawHeaders] })
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`)
  return JSON.parse(res.body) as Received
}

function valuesOf (r: Received, spelling: (name: string) => boolean): string[] {
  const out: string[] = []
  for (let i = 0; i < r.rawHeaders.length; i += 2) if (spelling(r.rawHeaders[i] ?? '')) out.push(r.rawHeaders[i + 1] ?? '')
  return out
}

t.test('user-header spoofing: a client-sent X-Forwarded-User is replaced by the authenticated user', async (t) => {
  const r = await forwarded(['X-Forwarded-User', 'root', 'x-forwarded-user', 'root2'])
  t.same(valuesOf(r, (n) => n.toLowerCase() === 'x-forwarded-user'), ['admin'])
})

t.test('user-header spoofing via underscores: X_Forwarded_User (CGI/WSGI fold _ into -) is removed', async (t) => {
  const r = await forwarded(['X_Forwarded_User', 'root', 'x_forwarded-user', 'root'])
  t.same(valuesOf(r, (n) => n.toLowerCase().replaceAll('_', '-') === 'x-forwarded-user'), ['admin'])
})

t.test('hop-by-hop stripping attack: Connection: X-Forwarded-User cannot remove the proxy\'s own header', async (t) => {
  const r = await forwarded(['Connection', 'close, X-Forwarded-User, X-Forwarded-For'])
  t.equal(r.headers['x-forwarded-user'], 'admin')
  t.equal(r.headers['x-forwarded-for'], '127.0.0.1')
})

t.test('Connection-listed client headers are removed before forwarding (RFC 9110 §7.6.1)', async (t) => {
  const r = await forwarded(['Connection', 'X-Secret-Hop', 'X-Secret-Hop', 'v', 'Keep-Alive', 'timeout=1', 'Proxy-Authorization', 'Basic Zm9vOmJhcg==', 'TE', 'trailers'])
  t.equal(r.headers['x-secret-hop'], undefined)
  t.equal(r.headers['keep-alive'], undefined)
  t.equal(r.headers['proxy-authorization'], undefined)
  t.equal(r.headers.te, undefined)
})

t.test('X-Forwarded-For spoofing: client values are replaced, not appended to', async (t) => {
  const r = await forwarded(['X-Forwarded-For', '10.0.0.1', 'X-Real-IP', '10.0.0.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example', 'Forwarded', 'for=10.0.0.3'])
  t.equal(r.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(r.headers['x-real-ip'], '127.0.0.1')
  t.equal(r.headers['x-forwarded-proto'], 'http')
  t.equal(r.headers['x-forwarded-host'], `127.0.0.1:${new URL(proxy.url).port}`)
  t.equal(r.headers.forwarded, `for=127.0.0.1;proto=http;host="127.0.0.1:${new URL(proxy.url).port}"`)
})

t.test('Forwarded injection through Host: a quote in Host cannot add parameters — such a Host is no host name: 400, never forwarded', async (t) => {
  const res = await send(`${proxy.url}/`, { rawHeaders: ['Authorization', AUTH, 'Host', 'a";for=10.6.6.6'] })
  t.equal(res.status, 400)
  t.equal(res.body.includes('10.6.6.6'), false)
})

t.test('credential leak: the Authorization header is not forwarded by default', async (t) => {
  const r = await forwarded([])
  t.equal(r.headers.authorization, undefined)
})

t.test('FORWARD_AUTHORIZATION=true passes the client Authorization header on', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', FORWARD_AUTHORIZATION: 'true' })
  t.teardown(async () => { await p.close() })
  t.equal((await forwarded([], p)).headers.authorization, AUTH)
})

t.test('USER_HEADER renames the identity header, and client copies of the new name are stripped', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', USER_HEADER: 'Remote-User' })
  t.teardown(async () => { await p.close() })
  const r = await forwarded(['Remote-User', 'root', 'Remote_User', 'root'], p)
  t.same(valuesOf(r, (n) => n.toLowerCase().replaceAll('_', '-') === 'remote-user'), ['admin'])
  t.equal(r.headers['x-forwarded-user'], undefined)
})

t.test('response hop-by-hop headers from the upstream are not relayed (RFC 9110 §7.6.1)', async (t) => {
  const res = await send(`${proxy.url}/`, { headers: { authorization: AUTH } })
  t.equal(res.headers['x-internal'], undefined, 'listed in the upstream\'s Connection header')
  t.equal(res.headers['proxy-authenticate'], undefined)
  t.not(res.headers['keep-alive'], 'timeout=5', 'the upstream\'s keep-alive is its own')
})

t.test('TRUST_PROXY: behind the trusted router, its X-Forwarded-For is extended and its Proto/Host kept', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', TRUST_PROXY: '127.0.0.1' })
  t.teardown(async () => { await p.close() })
  const r = await forwarded(['X-Forwarded-For', '203.0.113.9', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'hello.apps.example.org'], p)
  t.equal(r.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'router\'s list plus the router itself')
  t.equal(r.headers['x-real-ip'], '203.0.113.9', 'the client the router saw')
  t.equal(r.headers['x-forwarded-proto'], 'https')
  t.equal(r.headers['x-forwarded-host'], 'hello.apps.example.org')
  t.equal(r.headers.forwarded, 'for=203.0.113.9;proto=https;host="hello.apps.example.org"')
})

t.test('TRUST_PROXY naming someone else: this client\'s X-Forwarded-* are replaced, not believed', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', TRUST_PROXY: '10.128.0.0/14' })
  t.teardown(async () => { await p.close() })
  const r = await forwarded(['X-Forwarded-For', '203.0.113.9', 'X-Forwarded-Proto', 'https'], p)
  t.equal(r.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(r.headers['x-forwarded-proto'], 'http')
})

t.test('GROUPS_HEADER value: names joined by ",", names that cannot be listed are left out', async (t) => {
  t.equal(groupsValue(['admins', 'researchers']), 'admins,researchers')
  t.equal(groupsValue(['a,b', 'ok', 'bad\r\nX-Injected: 1', '']), 'ok', 'a comma would split one group into two; CR/LF would inject a header')
  t.equal(groupsValue([]), undefined)
  t.equal(groupsValue(undefined), undefined)
})
