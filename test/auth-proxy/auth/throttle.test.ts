// Brute-force defence: 429 with Retry-After after too many failures from one client for one user name or over many,
// a slowed (never locked) account under a distributed attack, recovery after the window, nobody else refused —
// behind a shared address either — bounded memory, and X-Forwarded-For believed only from TRUST_PROXY.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { Attempt, Start } from '../../../services/auth-proxy/src/auth/attempt.ts'
import { ACCOUNT_MAX_DELAY_MS, FailureThrottle } from '../../../services/auth-proxy/src/auth/throttle.ts'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { startUpstream } from '../../helpers/upstream.ts'

const GOOD = basic('admin', 'admin1041')
const BAD = basic('admin', 'guess')

const OPTIONS = { limit: 3, clientLimit: 5, accountLimit: 4, windowMs: 10_000, maxClients: 100 }

/** One wrong password from `client` for `user`, as basic-auth.ts runs it. */
async function fail (th: FailureThrottle, client: string, user: string): Promise<void> {
  const a = th.attempt(client, user)
  if ((await a.start()).delayMs > 0) await a.takeTurn() // a slowed check runs in its turn (the tests run them one after another)
  a.end('failure')
}
async function succeed (th: FailureThrottle, client: string, user: string): Promise<void> {
  const a = th.attempt(client, user)
  await a.start()
  a.end('success')
}
/** What start() would say, without counting: read on a throwaway attempt whose count is then taken back. */
async function peek (a: Attempt): Promise<Start> {
  const s = await a.start()
  if (s.refusedFor === 0) a.end('undecided')
  return s
}
const waitFor = async (th: FailureThrottle, client: string, user: string): Promise<number> => (await peek(th.attempt(client, user))).refusedFor
const delayFor = async (th: FailureThrottle, client: string, user: string): Promise<number> => (await peek(th.attempt(client, user))).delayMs

t.test('unit: a client + user name is blocked after `limit` failures within the window, until the window ends', async (t) => {
  let now = 0
  const th = new FailureThrottle({ ...OPTIONS, now: () => now })
  await fail(th, 'a', 'u'); await fail(th, 'a', 'u')
  t.equal(await waitFor(th, 'a', 'u'), 0, 'two failures: not yet')
  await fail(th, 'a', 'u')
  t.equal(await waitFor(th, 'a', 'u'), 10, 'third failure: blocked for the rest of the window')
  t.equal(await waitFor(th, 'a', 'v'), 0, 'another user name from the same client is not')
  t.equal(await waitFor(th, 'b', 'u'), 0, 'the same user name from another client is not')
  now = 9_500
  t.equal(await waitFor(th, 'a', 'u'), 1)
  now = 10_001
  t.equal(await waitFor(th, 'a', 'u'), 0, 'window over')
  await fail(th, 'a', 'u')
  t.equal(await waitFor(th, 'a', 'u'), 0, 'a fresh window starts at one')
})

t.test('unit: a client failing over many user names is blocked for all of them', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (const user of ['u1', 'u2', 'u3', 'u4']) await fail(th, 'a', user)
  t.equal(await waitFor(th, 'a', 'new'), 0, 'four failures over four names: not yet')
  await fail(th, 'a', 'u5')
  t.ok(await waitFor(th, 'a', 'new') > 0, 'the fifth: the client is blocked whatever the name')
  t.equal(await waitFor(th, 'b', 'new'), 0, 'other clients are not')
})

t.test('unit: an account failing from many clients is slowed (1 s doubling to 30 s), one check per lane at a time', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (let i = 0; i < 3; i++) await fail(th, `c${i}`, 'victim')
  t.equal(await delayFor(th, 'c98', 'victim'), 0, 'below the limit')
  await fail(th, 'c3', 'victim')
  t.equal(await delayFor(th, 'c98', 'victim'), 1_000, 'at the limit: one second')
  await fail(th, 'c4', 'victim')
  t.equal(await delayFor(th, 'c98', 'victim'), 2_000, 'doubling')
  for (let i = 5; i < 20; i++) await fail(th, `c${i}`, 'victim')
  t.equal(await delayFor(th, 'c98', 'victim'), ACCOUNT_MAX_DELAY_MS, 'capped')
  t.equal(await waitFor(th, 'c99', 'victim'), 0, 'no client is refused outright for it: the owner can still log in')
  t.equal(await delayFor(th, 'c98', 'other'), 0, 'other accounts are untouched')

  const first = th.attempt('c1', 'victim'); await first.start()
  t.ok(await first.takeTurn(), 'one check at a time may start in the lane of clients that failed')
  const second = th.attempt('c2', 'victim'); await second.start()
  t.notOk(await second.takeTurn(), 'a second in that lane waits its turn (429)')
  second.end('failure')
  const newcomer = th.attempt('c99', 'victim'); await newcomer.start()
  t.ok(await newcomer.takeTurn(), 'a client that never failed for the account has its own lane: the guessers cannot take its turn')
  newcomer.end('success'); first.end('failure')
  t.ok(await delayFor(th, 'c98', 'victim') > 0, 'the owner\'s success does not end the slowdown for everyone (no fresh fast guesses)…')
  t.equal(await delayFor(th, 'c99', 'victim'), 0, '…but its own client is known now and not slowed')
})

t.test('regression: account slowdown reset with the window — the count decays only a window after the last failure', async (t) => {
  let now = 0
  const th = new FailureThrottle({ ...OPTIONS, now: () => now })
  // A steady guesser: one failure every 5 s (half the window), for two minutes.
  for (let i = 0; i < 24; i++) { await fail(th, `c${i}`, 'victim'); now += 5_000 }
  t.equal(await delayFor(th, 'cx', 'victim'), ACCOUNT_MAX_DELAY_MS, 'still slowed after 12 windows: the count kept growing')
  now += 10_001
  t.equal(await delayFor(th, 'cx', 'victim'), 0, 'a full window without failures: forgotten')
})

t.test('regression: LDAP case and space folding — spellings of one name share the counters', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (const spelling of ['alice', 'ALICE', ' alice']) await fail(th, 'a', spelling)
  t.ok(await waitFor(th, 'a', 'Alice  ') > 0, 'three spellings from one client: the pair limit for all of them')
  for (const [i, spelling] of ['aLiCe', 'ａｌｉｃｅ', 'alice\u00a0', 'ALIce'].entries()) await fail(th, `c${i}`, spelling)
  t.ok(await delayFor(th, 'z', 'alice') > 0, 'and the account counts every spelling (fullwidth, NBSP included)')
  t.equal(await delayFor(th, 'z', 'alicia'), 0, 'a different name is a different account')
})

t.test('regression: throttle memory with long user names — keys are short hashes', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const before = process.memoryUsage().heapUsed
  const th = new FailureThrottle({ ...OPTIONS, maxClients: 1_000 })
  for (let i = 0; i < 3_000; i++) await fail(th, `10.0.${i >> 8}.${i & 255}`, `${'x'.repeat(11_000)}${i}`)
  gc()
  const grown = process.memoryUsage().heapUsed - before
  t.ok(th.trackedKeys >= 3_000, 'the keys are all there')
  t.ok(grown < 8 * 1024 * 1024, `3 tables × 1,000 keys of 11 kB names: ${Math.round(grown / 1024)} KiB (the names would be 33 MB)`)
})

t.test('regression: parallel guesses race past the counters — an attempt counts when it starts', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  const started = []
  for (let i = 0; i < 10; i++) {
    const a = th.attempt('a', 'u')
    if ((await a.start()).refusedFor > 0) continue // none has ended yet: all are in flight at once
    started.push(a)
  }
  t.equal(started.length, 3, 'only `limit` checks start, though none had finished')
  for (const a of started) a.end('failure')
})

t.test('unit: a backend that could not decide takes its count back, unless another backend said no', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (let i = 0; i < 5; i++) { const a = th.attempt('a', 'u'); await a.start(); a.end('undecided') }
  t.equal(await waitFor(th, 'a', 'u'), 0, 'a directory outage is no guess')
  for (let i = 0; i < 3; i++) { const a = th.attempt('a', 'v'); await a.start(); a.end('undecided-refused') }
  t.ok(await waitFor(th, 'a', 'v') > 0, 'but htpasswd saying no during the outage is')
})

t.test('unit: a success clears its client + user count and takes back its own client count', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  await fail(th, 'a', 'u'); await fail(th, 'a', 'u')
  await succeed(th, 'a', 'u')
  await fail(th, 'a', 'u'); await fail(th, 'a', 'u')
  t.equal(await waitFor(th, 'a', 'u'), 0, 'cleared by the success')
  await fail(th, 'a', 'x')
  t.ok(await waitFor(th, 'a', 'y') > 0, 'but all five failures still count against the client')
})

t.test('unit: IPv6 clients are counted per /64, IPv4-mapped ones as IPv4', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (let i = 1; i <= 5; i++) await fail(th, `2001:db8:1:2::${i.toString(16)}`, `u${i}`)
  t.ok(await waitFor(th, '2001:db8:1:2:ffff::9', 'new') > 0, 'another address in the /64 is the same client')
  t.equal(await waitFor(th, '2001:db8:1:3::1', 'new'), 0, 'the next /64 is not')
  for (let i = 1; i <= 3; i++) await fail(th, '::ffff:192.0.2.1', 'w')
  t.ok(await waitFor(th, '192.0.2.1', 'w') > 0, '::ffff:192.0.2.1 is 192.0.2.1')
})

t.test('unit: bearer tokens count per client and token, never against an account', async (t) => {
  const th = new FailureThrottle(OPTIONS)
  for (let i = 0; i < 3; i++) { const a = th.tokenAttempt('a', 'bad-token'); await a.start(); a.end('failure') }
  t.ok((await peek(th.tokenAttempt('a', 'bad-token'))).refusedFor > 0, 'the same bad token again: 429')
  t.equal((await peek(th.tokenAttempt('a', 'good-token'))).refusedFor, 0, 'another token from that address (a colleague behind the NAT) is not refused')
  th.malformed('a'); th.malformed('a')
  t.ok((await peek(th.tokenAttempt('a', 'good-token'))).refusedFor > 0, 'until the client as a whole passes its limit')
})

t.test('unit: memory stays bounded under a flood of distinct addresses and names', async (t) => {
  const th = new FailureThrottle({ ...OPTIONS, maxClients: 1_000 })
  for (let i = 0; i < 5_000; i++) await succeed(th, `10.1.${(i >> 8) & 255}.${i & 255}`, `user${i}`)
  for (let i = 0; i < 200_000; i++) await fail(th, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `user${i}`)
  t.equal(th.trackedKeys, 4_000, 'four tables (three counters, known clients), each at its bound')
})

t.test('unit: limit 0 disables the throttle', async (t) => {
  const th = new FailureThrottle({ ...OPTIONS, limit: 0 })
  for (let i = 0; i < 100; i++) await fail(th, `c${i}`, 'u')
  t.equal(await waitFor(th, 'c1', 'u'), 0)
  t.equal(await delayFor(th, 'c1', 'u'), 0)
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
  // 203.0.113.0 has failed for the account: the lane of those that failed.
  const started = Date.now()
  const [slowed, concurrent] = await Promise.all([from('203.0.113.0', BAD), new Promise((resolve) => setTimeout(resolve, 100)).then(async () => await from('203.0.113.1', BAD))])
  t.equal(slowed.status, 401, 'the next guess is still answered…')
  t.ok(Date.now() - started >= 950, `…after the account's delay (${Date.now() - started} ms)`)
  t.equal(concurrent.status, 429, 'a parallel guess in the same lane waits its turn: 429')
  t.equal(concurrent.headers['retry-after'], '2', 'and is told the next delay')
  const owner = Date.now()
  t.equal((await from('198.51.100.7', GOOD)).status, 200, 'the owner logs in from a new address (after the delay: now 2 s)')
  t.ok(Date.now() - owner >= 1_900, `${Date.now() - owner} ms`)
  const again = Date.now()
  t.equal((await from('198.51.100.7', basic('admin', 'typo'))).status, 401)
  t.ok(Date.now() - again < 900, 'the owner\'s address is known now: not slowed')
  const other = Date.now()
  t.equal((await from('203.0.113.60', basic('admin', 'again'))).status, 401)
  t.ok(Date.now() - other >= 1_900, 'but the account still is for everyone else: the owner\'s success gave guessers nothing')
})

t.test('regression: owner lockout through the account slowdown — guessers hammering a slowed account never take the owner\'s turn', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_ACCOUNT_LIMIT: '3', TRUST_PROXY: 'loopback'
  })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const from = (ip: string, authorization: string): Promise<{ status: number }> =>
    send(`${proxy.url}/`, { headers: { authorization, 'x-forwarded-for': ip } })
  for (let i = 0; i < 3; i++) await from(`203.0.113.${i}`, BAD)
  // Two guessers ask again the moment they are answered (the reviewer's repro: 10 a second), for 6 s.
  let stop = false
  const hammer = async (ip: string): Promise<number> => {
    let sent = 0
    while (!stop) { await from(ip, basic('admin', `guess${sent}`)); sent++ }
    return sent
  }
  const guessers = [hammer('203.0.113.0'), hammer('203.0.113.1')]
  await new Promise((resolve) => setTimeout(resolve, 300))
  const statuses: number[] = []
  const t0 = Date.now()
  while (Date.now() - t0 < 6_000) {
    const status = (await from('198.51.100.7', GOOD)).status
    statuses.push(status)
    if (status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  stop = true
  const sent = await Promise.all(guessers)
  t.equal(statuses.at(-1), 200, `the owner got in (${statuses.join(' ')}) while the guessers sent ${sent.join(' + ')} requests`)
  t.ok(Date.now() - t0 < 6_000, `within ${Date.now() - t0} ms`)
})
