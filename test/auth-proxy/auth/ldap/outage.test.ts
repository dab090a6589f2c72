// "Directory down" is not "wrong password": slapd stopped → 503 with Retry-After and not ready; back → 200 and
// ready; failover to the next LDAP_URL; a chain with htpasswd keeps htpasswd users in during an outage.
import t from 'tap'
import { basic, send } from '../../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'
import { runService } from '../../../helpers/process.ts'
import { requestLines, startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { SERVICE_DN, SERVICE_PASSWORD, slapdFixture, SUFFIX } from '../../../helpers/slapd.ts'
import { freePort } from '../../../helpers/upstream.ts'

const fixture = slapdFixture(t)

const ldapEnv = (url = fixture.slapd.url): Record<string, string> => ({
  LDAP_URL: url,
  LDAP_BIND_DN: SERVICE_DN,
  LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
  LDAP_SEARCH_BASE: `ou=people,${SUFFIX}`,
  LDAP_HEALTH_INTERVAL: '100ms',
  LDAP_CONNECT_TIMEOUT: '500ms',
  LDAP_TIMEOUT: '1s'
})

async function start (env: Record<string, string>): Promise<RunningProxy> {
  const proxy = await startProxy({ UPSTREAM_URL: fixture.upstream.url, AUTH_FAILURE_LIMIT: '0', ...env })
  t.teardown(async () => { await proxy.close() })
  return proxy
}

async function eventually (check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`never: ${what}`)
}

t.test('slapd stopped → 503 + Retry-After (never 401) and not ready; restarted → 200 and ready again', async (t) => {
  const proxy = await start({ ...ldapEnv(), VERIFY_CACHE_SIZE: '0' })
  const login = async (): Promise<number> => (await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status
  t.equal(await login(), 200)
  t.equal(proxy.app.credentials.ready(), true)

  await fixture.slapd.stop()
  const down = await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })
  t.equal(down.status, 503, 'the right password while the directory is down')
  t.equal(down.headers['retry-after'], '5')
  t.match(down.body, /AUTH_PROXY_ERR_BACKEND_UNAVAILABLE/)
  const wrongWhileDown = await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'wrong') } })
  t.equal(wrongWhileDown.status, 503, 'a wrong password cannot be told from a right one either: 503, not 401')
  t.equal(proxy.app.credentials.ready(), false)
  t.match(proxy.app.credentials.status(), { ready: false, lastError: /ECONNREFUSED|closed|refus/i })
  t.match(requestLines(proxy).slice(-2).map((l) => l.auth), ['unavailable', 'unavailable'])

  await fixture.slapd.start()
  await eventually(() => proxy.app.credentials.ready(), 'ready again after the health check')
  t.equal(await login(), 200, 'logins work again')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'wrong') } })).status, 401)
})

t.test('with the verify cache, logins already checked keep working through a short outage', async (t) => {
  const proxy = await start(ldapEnv())
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 200)
  await fixture.slapd.stop()
  t.teardown(async () => { await fixture.slapd.start() })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 200, 'cached (VERIFY_CACHE_TTL bounds it)')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('bob', 'bob-pw') } })).status, 503, 'not cached: the directory must answer')
})

t.test('failover: the first LDAP_URL refuses connections, the second answers', async (t) => {
  const dead = `ldap://127.0.0.1:${await freePort()}`
  const proxy = await start({ ...ldapEnv(`${dead},${fixture.slapd.url}`), VERIFY_CACHE_SIZE: '0' })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 200)
  t.equal(proxy.app.credentials.ready(), true)
  t.match(proxy.app.credentials.status(), { server: fixture.slapd.url })
})

t.test('a wrong service account password is "unavailable" and named, not "wrong password" for every user', async (t) => {
  const proxy = await start({ ...ldapEnv(), LDAP_BIND_PASSWORD: 'not-the-service-password', VERIFY_CACHE_SIZE: '0' })
  t.equal(proxy.app.credentials.ready(), false)
  t.match(proxy.app.credentials.status(), { lastError: /LDAP_BIND_DN/ })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 503)
  t.notOk(proxy.rawLogs.join('').includes('not-the-service-password'), 'the bind password is not logged')
})

t.test('htpasswd,ldap: during an LDAP outage htpasswd users get in, LDAP users get 503, the Pod stays ready', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const proxy = await start({ ...ldapEnv(), VERIFY_CACHE_SIZE: '0', HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('admin', 'admin1041')), AUTH_BACKENDS: 'htpasswd,ldap' })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 200, 'LDAP user, LDAP up')
  await fixture.slapd.stop()
  t.teardown(async () => { await fixture.slapd.start() })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status, 200, 'htpasswd user')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') } })).status, 503, 'LDAP user: undecidable')
  t.equal(proxy.app.credentials.ready(), true, 'still ready: htpasswd can answer')
  const metrics = await proxy.app.metrics.registry.metrics()
  t.match(metrics, /auth_proxy_backend_up\{backend="htpasswd"\} 1/)
  t.match(metrics, /auth_proxy_backend_up\{backend="ldap"\} 0/)
  t.match(proxy.app.credentials.status(), { htpasswd: { users: 1 }, ldap: { ready: false } })
})

t.test('regression: guessing unthrottled during an LDAP outage — htpasswd saying no still counts, though the answer is 503', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const proxy = await start({ ...ldapEnv(), HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('carol', 'carol-pw', '-B', 4)), AUTH_BACKENDS: 'htpasswd,ldap', AUTH_FAILURE_LIMIT: '5' })
  await fixture.slapd.stop()
  t.teardown(async () => { await fixture.slapd.start() })
  const guesses: number[] = []
  for (let i = 0; i < 8; i++) guesses.push((await send(`${proxy.url}/`, { headers: { authorization: basic('carol', `guess${i}`) } })).status)
  t.same(guesses, [503, 503, 503, 503, 503, 429, 429, 429], 'five guesses (503: LDAP might have known carol), then 429')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('carol', 'carol-pw') } })).status, 429, 'so the right password cannot be told apart by its 200 any more')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('carol', 'carol-pw') }, localAddress: '127.0.0.2' })).status, 200, 'carol from her own address: 200')
  // The directory alone down (no verifier said no) is no guess: an LDAP user is not throttled for the outage.
  for (let i = 0; i < 8; i++) t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'alice-pw') }, localAddress: '127.0.0.3' })).status, 503)
})

t.test('the real process: /readyz says which backend is down, and recovers', async (t) => {
  const [port, managementPort] = [await freePort(), await freePort()]
  const child = runService('auth-proxy', {
    ...ldapEnv(), UPSTREAM_URL: fixture.upstream.url, LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port),
    MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(managementPort), SHUTDOWN_DELAY: '0'
  })
  t.teardown(async () => { child.process.kill('SIGTERM'); await child.exited })
  // The public port listens first: wait for the management port, which /readyz is on.
  await child.waitFor(new RegExp(`listening at http://127\\.0\\.0\\.1:${managementPort}`, 'i'))
  const readyz = async (): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await send(`http://127.0.0.1:${managementPort}/readyz`)
    return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> }
  }
  await eventually(async () => (await readyz()).status === 200, 'ready at start')
  await fixture.slapd.stop()
  await eventually(async () => (await readyz()).status === 503, 'not ready once slapd is gone')
  t.match((await readyz()).body, { ready: false, checks: { credentials: false }, credentials: { ready: false, lastError: /./ } })
  await fixture.slapd.start()
  await eventually(async () => (await readyz()).status === 200, 'ready again')
  t.pass('recovered')
})
