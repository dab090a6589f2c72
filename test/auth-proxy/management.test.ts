// The management listener: liveness, readiness, no authentication, and nothing of the app.
import t from 'tap'
import { buildManagementApp, probeTcp } from '../../services/auth-proxy/src/management.ts'
import { freePort, startUpstream } from '../helpers/upstream.ts'

function build (upstreamUrl: string, state = { credentials: true, accepting: true }): ReturnType<typeof buildManagementApp> {
  return buildManagementApp({ credentialsReady: () => state.credentials, upstreamUrl, accepting: () => state.accepting }, 'silent')
}

t.test('/healthz is 200 whatever the upstream does', async (t) => {
  const app = build(`http://127.0.0.1:${await freePort()}`)
  t.teardown(async () => { await app.close() })
  const res = await app.inject('/healthz')
  t.equal(res.statusCode, 200)
})

t.test('/readyz follows the upstream: 503 while it is down, 200 once it answers, 503 when it goes', async (t) => {
  const port = await freePort()
  const app = build(`http://127.0.0.1:${port}`)
  t.teardown(async () => { await app.close() })
  const down = await app.inject('/readyz')
  t.equal(down.statusCode, 503)
  t.match(down.json(), { ready: false, checks: { credentials: true, upstream: false } })

  const upstream = await startUpstream(undefined, port)
  const up = await app.inject('/readyz')
  t.equal(up.statusCode, 200)
  t.same(up.json(), { ready: true, checks: { credentials: true, upstream: true, accepting: true } })

  await upstream.close()
  t.equal((await app.inject('/readyz')).statusCode, 503)
})

t.test('/readyz is 503 while credentials are not loaded or shutdown has begun', async (t) => {
  const upstream = await startUpstream()
  const state = { credentials: false, accepting: true }
  const app = build(upstream.url, state)
  t.teardown(async () => { await app.close(); await upstream.close() })
  t.equal((await app.inject('/readyz')).statusCode, 503)
  state.credentials = true
  t.equal((await app.inject('/readyz')).statusCode, 200)
  state.accepting = false
  const closing = await app.inject('/readyz')
  t.equal(closing.statusCode, 503)
  t.match(closing.json(), { checks: { accepting: false } })
})

t.test('/readyz shows the credential backends\' status (e.g. a refused reload) without secrets', async (t) => {
  const upstream = await startUpstream()
  const app = buildManagementApp({
    credentialsReady: () => true,
    credentialsStatus: () => ({ file: '/etc/auth-proxy/htpasswd', users: 2, lastReloadError: 'HTPASSWD_FILE: … line 3: …' }),
    upstreamUrl: upstream.url,
    accepting: () => true
  }, 'silent')
  t.teardown(async () => { await app.close(); await upstream.close() })
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 200, 'old credentials still in force: still ready')
  t.match(res.json(), { credentials: { users: 2, lastReloadError: /line 3/ } })
})

t.test('the management port serves only its own endpoints (no app, no proxy)', async (t) => {
  const app = build('http://127.0.0.1:1')
  t.teardown(async () => { await app.close() })
  t.equal((await app.inject('/')).statusCode, 404)
  t.equal((await app.inject('/healthz/extra')).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/readyz' })).statusCode, 404)
})

t.test('probeTcp times out on a silent address instead of hanging', async (t) => {
  // 127.0.0.1 port with nothing listening answers at once with a refusal: false, fast.
  const started = Date.now()
  t.equal(await probeTcp(`http://127.0.0.1:${await freePort()}`, 500), false)
  t.ok(Date.now() - started < 500)
})
