// Brute-force defence: 429 with Retry-After after too many failures from one client, recovery after the
// window, nobody else slowed, bounded memory, and X-Forwarded-For believed only from TRUST_PROXY.
import t from 'tap'
import { FailureThrottle } from '../../../services/auth-proxy/src/auth/throttle.ts'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { startUpstream } from '../../helpers/upstream.ts'

const GOOD = basic('admin', 'admin1041')
const BAD = basic('admin', 'guess')

t.test('unit: blocks after `limit` failures within the window, until the window ends', async (t) => {
  let now = 0
  const th = new FailureThrottle({ limit: 3, windowMs: 10_000, maxClients: 100, now: () => now })
  th.failure('a'); th.failure('a')
  t.equal(th.retryAfter('a'), 0, 'two failures: not yet')
  th.failure('a')
  t.equal(th.retryAfter('a'), 10, 'third failure: blocked for the rest of the window')
  now = 9_001
  t.equal(th.retryAfter('a'), 1)
  now = 10_000
  t.equal(th.retryAfter('a'), 0, 'window over')
  th.failure('a')
  t.equal(th.retryAfter('a'), 0, 'a fresh window starts at one')
})

t.test('unit: a success clears the count; other clients are independent', async (t) => {
  const th = new FailureThrottle({ limit: 2, windowMs: 10_000, maxClients: 100 })
  th.failure('a')
  th.success('a')
  th.failure('a')
  t.equal(th.retryAfter('a'), 0)
  th.failure('b'); th.failure('b')
  t.ok(th.retryAfter('b') > 0)
  t.equal(th.retryAfter('a'), 0)
})

t.test('unit: memory stays bounded under a flood of distinct addresses', async (t) => {
  const th = new FailureThrottle({ limit: 5, windowMs: 60_000, maxClients: 1_000 })
  for (let i = 0; i < 200_000; i++) th.failure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
  t.equal(th.trackedClients, 1_000)
})

t.test('unit: limit 0 disables the throttle', async (t) => {
  const th = new FailureThrottle({ limit: 0, windowMs: 60_000, maxClients: 10 })
  for (let i = 0; i < 100; i++) th.failure('a')
  t.equal(th.retryAfter('a'), 0)
})

t.test('through the proxy: 429 with Retry-After, others unaffected, recovery after the window', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW: '1s'
  })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 3; i++) t.equal((await send(`${proxy.url}/`, { headers: { authorization: BAD } })).status, 401)
  const blocked = await send(`${proxy.url}/`, { headers: { authorization: BAD } })
  t.equal(blocked.status, 429)
  t.equal(blocked.headers['retry-after'], '1')
  t.match(blocked.body, /AUTH_PROXY_ERR_TOO_MANY_FAILURES/)
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD } })).status, 429, 'even the right password, from the blocked client')

  const other = await send(`${proxy.url}/`, { headers: { authorization: GOOD }, localAddress: '127.0.0.2' })
  t.equal(other.status, 200, 'another client with the right password is not slowed')

  await new Promise((resolve) => setTimeout(resolve, 1_100))
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD } })).status, 200, 'recovered after the window')
  const lines = proxy.logs.filter((l) => l.msg === 'request')
  t.equal(lines.filter((l) => l.auth === 'throttled').length, 2, 'throttled requests are logged as such')
  t.equal(lines.filter((l) => l.auth === 'invalid').length, 3)
})

t.test('a browser\'s first request without credentials is not counted as a failure', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '2' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 10; i++) t.equal((await send(`${proxy.url}/`)).status, 401)
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD } })).status, 200)
  t.equal(proxy.logs.filter((l) => l.auth === 'missing').length, 10)
})

t.test('X-Forwarded-For spoofing cannot dodge the throttle when no proxy is trusted', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '2' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 2; i++) await send(`${proxy.url}/`, { headers: { authorization: BAD, 'x-forwarded-for': `10.0.0.${i}` } })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: BAD, 'x-forwarded-for': '10.0.0.99' } })).status, 429)
})

t.test('behind a trusted router (TRUST_PROXY), clients are told apart by X-Forwarded-For', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '2', TRUST_PROXY: '127.0.0.1'
  })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 2; i++) await send(`${proxy.url}/`, { headers: { authorization: BAD, 'x-forwarded-for': '203.0.113.7' } })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD, 'x-forwarded-for': '203.0.113.7' } })).status, 429, 'the guessing client is blocked')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD, 'x-forwarded-for': '198.51.100.1' } })).status, 200, 'a client behind the same router is not')
  const line = proxy.logs.filter((l) => l.msg === 'request').at(-1)
  t.equal(line?.client, '198.51.100.1', 'the log names the real client')
})
