// Basic and OpenID Connect in one proxy, regressions from review: the session is asked first whatever the order of
// AUTH_BACKENDS (a signed-in browser's stale Basic header costs no hash, counts as no guess and changes no identity),
// and a page load with an Authorization header no method reads is sent to the login uncounted, without a challenge.
import t, { type Test } from 'tap'
import { CookieJar, navigate, oidcLogin } from '../../../helpers/browserless.ts'
import { basic, send } from '../../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../../helpers/oidc-provider.ts'
import { requestLines, startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../../helpers/upstream.ts'

let provider: TestProvider
let upstream: Upstream
let port: number

t.before(async () => {
  port = await freePort()
  upstream = await startUpstream()
  provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
})
t.teardown(async () => {
  await provider.close()
  await upstream.close()
})

async function start (t: Test, extra: Record<string, string>, listenPort = 0): Promise<RunningProxy> {
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'mixed-tests-session-secret-0123456789abcd', ...extra
  }, listenPort)
  t.teardown(async () => { await proxy.close() })
  return proxy
}

const userSeen = (body: string): unknown => (JSON.parse(body) as Received).headers['x-forwarded-user']

t.test('regression: Basic before the session by default — a signed-in browser with a Basic header stays its session user, no hash, no guess', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const proxy = await start(t, { HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('carol', 'carol-pw', '-B', 10)), AUTH_FAILURE_LIMIT: '3' }, port)
  const jar = new CookieJar()
  t.equal((await oidcLogin(jar, `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')).res.status, 200, 'alice signed in')

  const other = await navigate(jar, `${proxy.url}/x`, { headers: { authorization: basic('carol', 'carol-pw') } })
  t.equal(userSeen(other.body), 'alice', 'another user\'s valid Basic beside the session: the session decides')
  const started = Date.now()
  for (let i = 0; i < 10; i++) {
    const stale = await navigate(jar, `${proxy.url}/x`, { headers: { authorization: basic('carol', `stale${i}`) } })
    t.equal(stale.status, 200)
    t.equal(userSeen(stale.body), 'alice')
  }
  t.ok(Date.now() - started < 1_000, `ten requests with a stale Basic header ran no bcrypt (${Date.now() - started} ms)`)
  t.notOk(requestLines(proxy).some((l) => l.auth === 'invalid'), 'none was counted as a wrong password')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('carol', 'carol-pw') } })).status, 200, 'carol, from the same address, is not throttled (limit 3)')
})

t.test('regression: navigations counted as failed logins — an unreadable Authorization (Negotiate) goes to the login uncounted and unchallenged', async (t) => {
  const proxy = await start(t, { AUTH_FAILURE_CLIENT_LIMIT: '3' })
  for (let i = 0; i < 10; i++) {
    const res = await navigate(new CookieJar(), `${proxy.url}/page`, { headers: { authorization: 'Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag' } })
    t.equal(res.status, 302, 'to the provider')
    t.equal(res.headers['www-authenticate'], undefined, 'a redirect carries no challenge')
  }
  t.same([...new Set(requestLines(proxy).map((l) => l.auth))], ['missing'], 'logged as missing credentials, not malformed')
  const bearer = await send(`${proxy.url}/api`, { headers: { authorization: `Bearer ${await provider.mint({})}`, accept: 'application/json' } })
  t.equal(bearer.status, 200, 'a valid token from the same address afterwards: 200, not 429')
  // A script (no navigation) with the same header still counts as malformed: that is a guess of sorts.
  for (let i = 0; i < 3; i++) t.equal((await send(`${proxy.url}/api`, { headers: { authorization: 'Negotiate x' } })).status, 401)
  const after = await send(`${proxy.url}/api`, { headers: { authorization: `Bearer ${await provider.mint({})}`, accept: 'application/json' } })
  t.equal(after.status, 429, 'three of those reach AUTH_FAILURE_CLIENT_LIMIT for that address')
})
