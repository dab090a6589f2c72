// Logs: one line per request with the useful fields, and never a secret, whatever the traffic.
import t from 'tap'
import { basic, send } from '../helpers/http.ts'
import { requestLines, startProxy } from '../helpers/proxy.ts'
import { freePort, startUpstream } from '../helpers/upstream.ts'

const PASSWORD = 'S3cr3t-P4ssw0rd-Never-Logged'
const COOKIE = 'session=Cookie-Value-Never-Logged'
const QUERY_TOKEN = 'Query-Token-Never-Logged'

t.test('one JSON line per request: method, path, status, duration, user, client, request id', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'alice', AUTH_PASSWORD: PASSWORD })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  await send(`${proxy.url}/ok?x=1`, { headers: { authorization: basic('alice', PASSWORD) } })
  await send(`${proxy.url}/denied`)
  const lines = requestLines(proxy)
  t.equal(lines.length, 2, 'exactly one line per request')
  t.match(lines[0], { msg: 'request', method: 'GET', path: '/ok', status: 200, user: 'alice', client: '127.0.0.1', reqId: /^[0-9a-f]{10}$/ })
  t.type(lines[0]?.durationMs, 'number')
  t.match(lines[1], { method: 'GET', path: '/denied', status: 401 })
  t.equal(lines[1]?.user, undefined)
  t.equal(proxy.logs.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed').length, 0, 'no Fastify default lines')
})

t.test('secret scan: passwords, Authorization, cookies and query tokens never appear in any log line', async (t) => {
  const port = await freePort()
  const proxy = await startProxy({ UPSTREAM_URL: `http://127.0.0.1:${port}`, AUTH_USERNAME: 'alice', AUTH_PASSWORD: PASSWORD, LOG_LEVEL: 'trace' })
  t.teardown(async () => { await proxy.close() })
  const good = basic('alice', PASSWORD)
  const wrong = basic('alice', `${PASSWORD}-wrong`)
  const headers = { cookie: COOKIE, 'proxy-authorization': good }
  // Successes (503: upstream not up yet, so the error path logs too), failures, malformed and oversized traffic.
  await send(`${proxy.url}/a?token=${QUERY_TOKEN}`, { headers: { ...headers, authorization: good } })
  await send(`${proxy.url}/b?token=${QUERY_TOKEN}`, { headers: { ...headers, authorization: wrong } })
  await send(`${proxy.url}/c`, { headers: { ...headers, authorization: `Basic ${Buffer.from(`alice${PASSWORD}`).toString('base64')}` } })
  await send(`${proxy.url}/%zz?token=${QUERY_TOKEN}`, { headers: { ...headers, authorization: good } })
  const upstream = await startUpstream(undefined, port)
  t.teardown(async () => { await upstream.close() })
  await send(`${proxy.url}/d?token=${QUERY_TOKEN}`, { headers: { ...headers, authorization: good } })
  const all = proxy.rawLogs.join('')
  t.ok(requestLines(proxy).length >= 4, 'traffic was logged')
  for (const secret of [PASSWORD, good.slice(6), wrong.slice(6), COOKIE, 'Cookie-Value', QUERY_TOKEN]) {
    t.notOk(all.includes(secret), `not in logs: ${secret.slice(0, 12)}…`)
  }
  t.notMatch(all, /authorization/i, 'no Authorization header at all')
})

t.test('every auth failure is logged with its reason category and the client, never what was sent', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'alice', AUTH_PASSWORD: PASSWORD, AUTH_FAILURE_LIMIT: '2' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  await send(`${proxy.url}/`)
  await send(`${proxy.url}/`, { headers: { authorization: 'Basic !!!' } })
  await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'Wrong-Guess-Never-Logged') } })
  await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'Wrong-Guess-Never-Logged-2') } })
  await send(`${proxy.url}/`, { headers: { authorization: basic('alice', PASSWORD) } })
  const lines = requestLines(proxy)
  t.same(lines.map((l) => [l.status, l.auth, l.client]), [
    [401, 'missing', '127.0.0.1'], [401, 'malformed', '127.0.0.1'], [401, 'invalid', '127.0.0.1'], [401, 'invalid', '127.0.0.1'], [429, 'throttled', '127.0.0.1']
  ], 'two wrong passwords for alice (the limit): her next attempt from this client is throttled')
  t.notOk(proxy.rawLogs.join('').includes('Wrong-Guess-Never-Logged'))
})

t.test('secret scan with an htpasswd file: passwords and hashes never logged, through failures, throttling and reloads', async (t) => {
  const { htpasswdLine, tempDir } = await import('../helpers/htpasswd.ts')
  const { writeFileSync } = await import('node:fs')
  const dir = tempDir()
  const bcryptLine = htpasswdLine('bea', PASSWORD, '-B', 4)
  const apr1Line = htpasswdLine('abe', `${PASSWORD}-apr1`, '-m')
  const file = dir.file('htpasswd', `${bcryptLine}\n${apr1Line}\n`)
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: file, HTPASSWD_RELOAD_INTERVAL: '50ms', AUTH_FAILURE_LIMIT: '3', LOG_LEVEL: 'trace' })
  t.teardown(async () => { await proxy.close(); await upstream.close(); dir.remove() })
  await send(`${proxy.url}/`, { headers: { authorization: basic('bea', PASSWORD), cookie: COOKIE } })
  await send(`${proxy.url}/`, { headers: { authorization: basic('abe', `${PASSWORD}-apr1`) } })
  for (let i = 0; i < 5; i++) await send(`${proxy.url}/`, { headers: { authorization: basic('bea', `${PASSWORD}-${i}`) } })
  writeFileSync(file, `${bcryptLine}\nabe:$apr1$broken\n`) // refused reload: the error names the line
  await new Promise((resolve) => setTimeout(resolve, 300))
  const all = proxy.rawLogs.join('')
  t.match(all, /htpasswd reload failed/, 'the refused reload was logged')
  t.match(all, /weak password hashes/, 'the weak-hash warning was logged')
  for (const secret of [PASSWORD, COOKIE, bcryptLine.slice(4), apr1Line.slice(4), '$apr1$broken', basic('bea', PASSWORD).slice(6)]) {
    t.notOk(all.includes(secret), `not in logs: ${secret.slice(0, 14)}…`)
  }
})

t.test('regression: requests abandoned during authentication were never logged — a client leaving a slowed check gets its 499 line', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'alice', AUTH_PASSWORD: PASSWORD, AUTH_FAILURE_ACCOUNT_LIMIT: '1' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'wrong') } })).status, 401)
  // The account is slowed now: the next check waits a second. This client leaves after 200 ms.
  const { request } = await import('node:http')
  await new Promise<void>((resolve) => {
    const req = request(`${proxy.url}/left-early`, { headers: { authorization: basic('alice', 'guess') } })
    req.on('error', () => { resolve() })
    req.end()
    setTimeout(() => { req.destroy() }, 200)
  })
  await new Promise((resolve) => setTimeout(resolve, 1_500)) // past the delay: the check ran and answered no one
  const lines = requestLines(proxy).filter((l) => l.path === '/left-early')
  t.equal(lines.length, 1, 'one line for it')
  t.match(lines[0], { status: 499, aborted: 'client closed', client: '127.0.0.1' })
  const metrics = await proxy.app.metrics.registry.metrics()
  t.match(metrics, /auth_proxy_requests_total\{method="GET",status_class="4xx"\} 2/, 'and counted (the 401 and the 499)')
})
