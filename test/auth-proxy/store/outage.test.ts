// Redis killed and restarted under traffic, two replicas sharing it (a real redis-server): no 500 anywhere; logins
// already checked keep working; guessing is throttled by each replica alone (what each has by itself); /readyz and
// metrics say Redis is down while the replicas stay ready; a logout made during the outage holds at once where it
// was made, reaches the other replica when Redis is back; everything recovers without a restart.
import t from 'tap'
import { CookieJar, navigate, oidcLogin } from '../../helpers/browserless.ts'
import { basic, send } from '../../helpers/http.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../helpers/oidc-provider.ts'
import { startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { eventually as until, startRedis, type RedisServer } from '../../helpers/redis.ts'
import { freePort, startUpstream, type Upstream } from '../../helpers/upstream.ts'

let redis: RedisServer
let upstream: Upstream
let provider: TestProvider
let a: RunningProxy
let b: RunningProxy


t.before(async () => {
  redis = await startRedis()
  upstream = await startUpstream()
  const [pa, pb] = [await freePort(), await freePort()]
  provider = await startProvider({ redirectUris: [pa, pb].map((p) => `http://127.0.0.1:${p}/_auth/callback`), postLogoutRedirectUris: [] })
  const env = {
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '3', REDIS_URL: redis.url, REDIS_TIMEOUT: '200ms',
    OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_SECRET: 'outage-tests-session-secret-0123456789abc'
  }
  a = await startProxy(env, pa)
  b = await startProxy(env, pb)
  await until(() => a.app.sharedStore?.store.up === true && b.app.sharedStore?.store.up === true, 'both connected')
})
t.teardown(async () => { await a.close(); await b.close(); await provider.close(); await upstream.close(); await redis.stop() })

t.test('Redis killed under traffic and restarted: no 500, each replica alone meanwhile, shared again after', async (t) => {
  const statuses: number[] = []
  const ok = basic('admin', 'admin1041')
  for (const p of [a, b]) statuses.push((await send(`${p.url}/`, { headers: { authorization: ok } })).status) // now cached
  const jar = new CookieJar()
  t.equal((await oidcLogin(jar, `${a.url}/`, 'alice', USERS.alice?.password ?? '')).res.status, 200)
  const cookie = jar.header(a.url) ?? ''

  const load = { on: true }
  const traffic = (async () => {
    while (load.on) {
      for (const p of [a, b]) statuses.push((await send(`${p.url}/`, { headers: { authorization: ok } })).status)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()

  await redis.stop()
  await until(() => !(a.app.sharedStore?.store.up ?? true) && !(b.app.sharedStore?.store.up ?? true), 'both notice the outage')
  const metrics = await a.app.metrics.registry.metrics()
  t.match(metrics, /auth_proxy_shared_store_up 0/, 'metrics: down')
  t.match(a.app.sharedStore?.store.status(), { ready: false, lastError: /ECONNREFUSED|closed/ }, '/readyz shows why')
  t.ok(a.app.credentials.ready(), 'the replica stays ready: it decides alone')

  // Guessing while Redis is down: each replica throttles alone, at its own limit.
  const guesses: number[] = []
  for (let i = 0; i < 4; i++) guesses.push((await send(`${a.url}/`, { headers: { authorization: basic('admin', `g${i}`), 'x-forwarded-for': '203.0.113.1' } })).status)
  t.same(guesses, [401, 401, 401, 429], 'replica a, alone: three guesses then 429')

  // A logout during the outage holds at once where it was made; the other replica learns it when Redis is back.
  const info = JSON.parse((await navigate(jar, `${a.url}/_auth/userinfo`)).body) as { csrfToken: string }
  t.equal((await navigate(jar, `${a.url}/_auth/logout`, { form: { csrf: info.csrfToken }, headers: { origin: a.url } })).status, 303)
  const at = async (p: RunningProxy): Promise<number> => (await send(`${p.url}/api`, { headers: { cookie, accept: 'application/json' } })).status
  t.equal(await at(a), 401, 'refused at once at the replica that logged out')
  t.equal(await at(b), 200, 'the other replica cannot know yet (documented: fails open while Redis is down)')

  await redis.start()
  await until(() => a.app.sharedStore?.store.up === true && b.app.sharedStore?.store.up === true, 'both reconnect by themselves')
  await until(async () => await at(b) === 401, 'the logout made during the outage reaches the other replica')
  load.on = false
  await traffic
  t.notOk(statuses.some((s) => s >= 500), `no 5xx in ${statuses.length} requests during the outage and recovery`)
  t.ok(statuses.length > 20)

  // Shared again: a fresh guesser spread over both replicas is throttled as one.
  const spread: number[] = []
  for (let i = 0; i < 6; i++) spread.push((await send(`${(i % 2 === 0 ? a : b).url}/`, { headers: { authorization: basic('admin', `h${i}`), 'x-forwarded-for': '203.0.113.2' } })).status)
  t.same(spread, [401, 401, 401, 429, 429, 429], 'counted in Redis again')
})
