// Basic authentication through the real proxy in front of a real upstream: every way in must be refused
// except the right credentials, and refusals never tell which part was wrong.
import t, { type Test } from 'tap'
import { basic, send } from '../../../helpers/http.ts'
import { startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { startUpstream, type Received, type Upstream } from '../../../helpers/upstream.ts'

const CHALLENGE = 'Basic realm="Restricted", charset="UTF-8"'
let upstream: Upstream
let proxy: RunningProxy

t.before(async () => {
  upstream = await startUpstream()
  // The throttle is off here: this file sends far more bad credentials than it allows (see throttle.test.ts).
  proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '0' })
})
t.teardown(async () => {
  await proxy.close()
  await upstream.close()
})

async function expectChallenge (t: Test, authorization: string | undefined, what: string): Promise<void> {
  const before = upstream.received.length
  const res = await send(`${proxy.url}/private`, { headers: authorization === undefined ? {} : { authorization } })
  t.equal(res.status, 401, `${what}: 401`)
  t.equal(res.headers['www-authenticate'], CHALLENGE, `${what}: challenge`)
  t.equal(upstream.received.length, before, `${what}: nothing reached the upstream`)
}

t.test('correct credentials reach the upstream', async (t) => {
  const res = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })
  t.equal(res.status, 200)
  t.equal((JSON.parse(res.body) as Received).headers['x-forwarded-user'], 'admin')
})

t.test('the scheme name is case-insensitive (RFC 7235 §2.1)', async (t) => {
  const token = Buffer.from('admin:admin1041').toString('base64')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: `basic ${token}` } })).status, 200)
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: `BASIC ${token}` } })).status, 200)
})

t.test('no Authorization header → 401 with the Basic challenge', async (t) => {
  await expectChallenge(t, undefined, 'missing')
})

t.test('wrong password and unknown user → identical 401s', async (t) => {
  const wrong = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'nope') } })
  const unknown = await send(`${proxy.url}/`, { headers: { authorization: basic('nobody', 'admin1041') } })
  t.equal(wrong.status, 401)
  t.equal(unknown.status, 401)
  const strip = (body: string): string => body.replace(/request [0-9a-f]+/, 'request ID')
  t.equal(strip(wrong.body), strip(unknown.body), 'same body apart from the request id')
  t.same(Object.keys(wrong.headers).sort(), Object.keys(unknown.headers).sort(), 'same header names')
})

t.test('malformed Authorization headers → 401, never 500', async (t) => {
  const cases: Array<[string, string]> = [
    ['Bearer abc.def.ghi', 'wrong scheme'],
    ['Digest username="admin"', 'digest scheme'],
    ['Basic', 'scheme without credentials'],
    ['Basic !!!!', 'not base64'],
    [`Basic ${Buffer.from('admin-no-colon').toString('base64')}`, 'no colon'],
    [`Basic ${Buffer.from('admin:admin1041\u0000').toString('base64')}`, 'NUL in password'],
    [`Basic ${Buffer.from('adm\u001bin:admin1041').toString('base64')}`, 'ESC in user'],
    [`Basic ${Buffer.from('admin:admin1041').toString('base64')} extra`, 'trailing garbage'],
    [`Basic  ${Buffer.from('admin:admin1041').toString('base64')}`, 'two spaces'],
    [`Basic ${Buffer.from('admin:admin1041').toString('base64')}, Basic Zm9vOmJhcg==`, 'two credentials'],
    [`Basic ${Buffer.from(':').toString('base64')}`, 'empty user and password'],
    [`Basic ${'A'.repeat(8000)}`, 'long garbage']
  ]
  for (const [value, what] of cases) await expectChallenge(t, value, what)
})

t.test('a header too large for the server → 431, not 500, and the proxy keeps serving', async (t) => {
  const res = await send(`${proxy.url}/`, { headers: { authorization: `Basic ${'A'.repeat(20_000)}` } })
  t.equal(res.status, 431)
  const ok = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })
  t.equal(ok.status, 200)
})

t.test('UTF-8 credentials (RFC 7617 charset="UTF-8")', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'jürgen', AUTH_PASSWORD: 'pässwörd✓' })
  t.teardown(async () => { await p.close() })
  t.equal((await send(`${p.url}/`, { headers: { authorization: basic('jürgen', 'pässwörd✓') } })).status, 200)
  const latin1 = `Basic ${Buffer.from('jürgen:pässwörd✓', 'latin1').toString('base64')}`
  t.equal((await send(`${p.url}/`, { headers: { authorization: latin1 } })).status, 401)
})

t.test('AUTH_REALM is announced in the challenge', async (t) => {
  const p = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'a', AUTH_PASSWORD: 'b', AUTH_REALM: 'Jupyter on Rahti' })
  t.teardown(async () => { await p.close() })
  const res = await send(`${p.url}/`)
  t.equal(res.headers['www-authenticate'], 'Basic realm="Jupyter on Rahti", charset="UTF-8"')
})

t.test('every method is behind auth, including ones the proxy does not forward', async (t) => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    const res = await send(`${proxy.url}/x`, { method })
    t.equal(res.status, 401, method)
  }
})

t.test('TRACE is refused with 405 even when authenticated (XST: it would echo Authorization back)', async (t) => {
  const before = upstream.received.length
  const res = await send(`${proxy.url}/`, { method: 'TRACE', headers: { authorization: basic('admin', 'admin1041') } })
  t.equal(res.status, 405)
  t.equal(upstream.received.length, before)
  t.notMatch(res.body, /admin1041|YWRtaW46YWRtaW4xMDQx/)
})
