// Brute-force defence: 429 with Retry-After after too many failures from one client for one user name or over many,
// a slowed (never locked) account under a distributed attack, recovery after the window, nobody else refused —
// behind a shared address either — bounded memory, and X-Forwarded-For believed only from TRUST_PROXY.
import t from 'tap'
import { ACCOUNT_MAX_DELAY_MS, FailureThrottle } from '../../../services/auth-proxy/src/auth/throttle.ts'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { startUpstream } from '../../helpers/upstream.ts'

const GOOD = basic('admin', 'admin1041')
const BAD = basic('admin', 'guess')

const OPTIONS = { limit: 3, clientLimit: 5, accountLimit: 4, windowMs: 10_000, maxClients: 100 }

t.test('unit: a client + user name is blocked after `limit` failures within the window, until the window ends', async (t) => {
  let now = 0
  const th = new FailureThrottle({ ...OPTIONS, now: () => now })
  th.failure('a', 'u'); th.failure('a', 'u')
  t.equal(th.retryAfter('a', 'u'), 0, 'two failures: not yet')
  th.failure('a', 'u')
  t.equal(th.retryAfter('a', 'u'), 10, 'third failure: blocked for the rest of the window')
  t.equal(th.retryAfter('a', 'v'), 0, 'another user name from the same client is not')
  t.equal(th.retryAfter('b', 'u'), 0, 'the same user name from another client is not')
  now = 9_001
  t.equal(th.retryAfter('a', 'u'), 1)
  now = 10_000
  t.equal(th.retryAfter('a', 'u'), 0, 'window over')
  th.failure('a', 'u')
  t.equal(th.retryAfter('a', 'u'), 0, 'a fresh window starts at one')
})

t.test('unit: spraying — one client failing many user names is blocked for all of them', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (const user of ['u1', 'u2', 'u3', 'u4']) th.failure('a', user)
  t.equal(th.retryAfter('a', 'new'), 0, 'four failures over four names: not yet')
  th.failure('a', 'u5')
  t.ok(th.retryAfter('a', 'new') > 0, 'the fifth: the client is blocked whatever the name')
  t.equal(th.retryAfter('b', 'new'), 0, 'other clients are not')
})

t.test('unit: an account failed from many clients is slowed — 1 s, doubling, at most 30 s — never locked', async (t) => {
  let now = 0
  const th = new FailureThrottle({ ...OPTIONS, windowMs: 600_000, now: () => now })
  for (let i = 0; i < 3; i++) th.failure(`c${i}`, 'victim')
  t.equal(th.accountDelayMs('victim'), 0, 'below the limit')
  th.failure('c3', 'victim')
  t.equal(th.accountDelayMs('victim'), 1_000, 'at the limit: one second')
  th.failure('c4', 'victim')
  t.equal(th.accountDelayMs('victim'), 2_000, 'doubling')
  for (let i = 5; i < 20; i++) th.failure(`c${i}`, 'victim')
  t.equal(th.accountDelayMs('victim'), ACCOUNT_MAX_DELAY_MS, 'capped')
  t.equal(th.retryAfter('c99', 'victim'), 0, 'no client is refused outright for it: the owner can still log in')
  t.equal(th.accountDelayMs('other'), 0, 'other accounts are untouched')
  t.ok(th.startSlowCheck('victim'), 'one check at a time may start')
  t.notOk(th.startSlowCheck('victim'), 'a second waits its turn (429)')
  th.endSlowCheck('victim')
  th.success('c99', 'victim')
  t.equal(th.accountDelayMs('victim'), 0, 'the owner\'s success ends the slowdown')
  now = 600_001
  t.equal(th.accountDelayMs('victim'), 0)
})

t.test('unit: a success clears its client + user count only; the client-wide count stays', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  th.failure('a', 'u'); th.failure('a', 'u')
  th.success('a', 'u')
  th.failure('a', 'u'); th.failure('a', 'u')
  t.equal(th.retryAfter('a', 'u'), 0, 'cleared by the success')
  th.failure('a', 'x')
  t.ok(th.retryAfter('a', 'y') > 0, 'but all five failures still count against the client')
})

t.test('unit: memory stays bounded under a flood of distinct addresses and names', async (t) => {
  const th = new FailureThrottle({ ...OPTIONS, maxClients: 1_000 })
  for (let i = 0; i < 200_000; i++) th.failure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user${i}`)
  t.equal(th.trackedKeys, 3_000, 'three tables, each at its bound')
})

t.test('unit: limit 0 disables the throttle', async (t) => {
  const th = new FailureThrottle({ ...OPTIONS, limit: 0 })
  for (let i = 0; i < 100; i++) th.failure('a', 'u')
  t.equal(th.retryAfter('a', 'u'), 0)
  t.equal(th.accountDelayMs('u'), 0)
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

t.test('shared-address lockout (the OpenShift router without TRUST_PROXY): one client guessing refuses nobody else', async (t) => {
  const upstream = await startUpstream()
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const file = dir.file('htpasswd', `${htpasswdLine('admin', 'admin1041', '-B', 4)}\n${htpasswdLine('bob', 'bobpw', '-B', 4)}\n`)
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: file })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD } })).status, 200, 'admin logged in before the attack')
  // Client A, behind the same address as everyone, guesses admin's password 30 times.
  const statuses = []
  for (let i = 0; i < 30; i++) statuses.push((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', `guess${i}`) } })).status)
  t.same(statuses.slice(0, 10), Array(10).fill(401))
  t.same(statuses.slice(10), Array(20).fill(429), 'the guesser is stopped after 10')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('bob', 'bobpw') } })).status, 200, 'client B, another user behind the same address: 200')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD } })).status, 200, 'admin, already logged in (cached): not a guess, 200')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'guess99') } })).status, 429, 'the guesser still is')
})

t.test('spraying: one client failing many user names is refused; other clients are not', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_CLIENT_LIMIT: '5' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 5; i++) t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic(`user${i}`, 'x') } })).status, 401)
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('user99', 'x') } })).status, 429, 'a sixth name from the sprayer')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: GOOD }, localAddress: '127.0.0.2' })).status, 200, 'another client')
})

t.test('distributed guessing at one account slows it (one check at a time, growing delay); its owner still gets in', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_ACCOUNT_LIMIT: '5', TRUST_PROXY: 'loopback'
  })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const from = (ip: string, authorization: string): Promise<{ status: number, headers: Record<string, unknown> }> =>
    send(`${proxy.url}/`, { headers: { authorization, 'x-forwarded-for': ip } })
  for (let i = 0; i < 5; i++) t.equal((await from(`203.0.113.${i}`, BAD)).status, 401, `guess from address ${i}`)
  const started = Date.now()
  const [slowed, concurrent] = await Promise.all([from('203.0.113.50', BAD), new Promise((resolve) => setTimeout(resolve, 100)).then(async () => await from('203.0.113.51', BAD))])
  t.equal(slowed.status, 401, 'the next guess is still answered…')
  t.ok(Date.now() - started >= 950, `…after the account's delay (${Date.now() - started} ms)`)
  t.equal(concurrent.status, 429, 'a parallel guess at the slowed account waits its turn: 429')
  t.equal(concurrent.headers['retry-after'], '1')
  const owner = Date.now()
  t.equal((await from('198.51.100.7', GOOD)).status, 200, 'the owner logs in (after the delay: now 2 s)')
  t.ok(Date.now() - owner >= 1_900)
  const after = Date.now()
  t.equal((await from('203.0.113.60', basic('admin', 'again'))).status, 401)
  t.ok(Date.now() - after < 900, 'the owner\'s success ended the slowdown')
})
