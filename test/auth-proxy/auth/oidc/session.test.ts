// Sessions over time and across replicas: refresh-token renewal, logout with CSRF protection, two proxies
// sharing a secret (and one that does not), secret rotation, large sessions split across cookies.
import t, { type Test } from 'tap'
import { CookieJar, follow, navigate, oidcLogin } from '../../../helpers/browserless.ts'
import { send } from '../../../helpers/http.ts'
import { runService } from '../../../helpers/process.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../../helpers/oidc-provider.ts'
import { startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../../helpers/upstream.ts'
import { SessionStore } from '../../../../services/auth-proxy/src/auth/oidc/session.ts'

const SECRET = 'session-tests-secret-0123456789abcdefghij'
const OTHER_SECRET = 'a-different-secret-0123456789abcdefghijkl'
let provider: TestProvider
let upstream: Upstream
const ports: number[] = []
const proxies: RunningProxy[] = []

t.before(async () => {
  for (let i = 0; i < 4; i++) ports.push(await freePort())
  upstream = await startUpstream()
  provider = await startProvider({
    redirectUris: ports.map((p) => `http://127.0.0.1:${p}/_auth/callback`),
    postLogoutRedirectUris: ports.map((p) => `http://127.0.0.1:${p}/`),
    accessTokenTtl: 2 // seconds: refresh is due almost at once
  })
})
t.teardown(async () => {
  for (const p of proxies) await p.close()
  await provider.close()
  await upstream.close()
})

async function proxyOn (index: number, extra: Record<string, string> = {}): Promise<RunningProxy> {
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: SECRET, AUTH_FAILURE_LIMIT: '0', ...extra
  }, ports[index])
  proxies.push(proxy)
  return proxy
}

const user = (body: string): string | undefined => (JSON.parse(body) as Received).headers['x-forwarded-user'] as string | undefined

t.test('refresh: once the access token expires the session is renewed with the refresh token', async (t) => {
  const proxy = await proxyOn(0)
  const jar = new CookieJar()
  await oidcLogin(jar, `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')
  const before = jar.get(proxy.url, '_auth_proxy')
  await new Promise((resolve) => setTimeout(resolve, 2_200))
  const res = await navigate(jar, `${proxy.url}/after-expiry`)
  t.equal(res.status, 200, 'no trip to the provider\'s login')
  t.equal(user(res.body), 'alice')
  t.not(jar.get(proxy.url, '_auth_proxy'), before, 'a renewed session cookie was set')
  const store = new SessionStore('_auth_proxy', [SECRET], 1)
  const renewed = await store.unseal(jar.get(proxy.url, '_auth_proxy') ?? '')
  const old = await store.unseal(before ?? '')
  t.equal(renewed?.sid, old?.sid, 'same session')
  t.equal(renewed?.exp, old?.exp, 'the absolute lifetime does not grow with refreshes')
  t.ok((renewed?.refreshAt ?? 0) > (old?.refreshAt ?? 0))

  // Parallel requests of one page share one refresh (the provider rotates refresh tokens: a second use fails).
  await new Promise((resolve) => setTimeout(resolve, 2_200))
  const cookie = jar.header(proxy.url) ?? ''
  const parallel = await Promise.all(Array.from({ length: 6 }, async () => await send(`${proxy.url}/p`, { headers: { cookie, accept: 'application/json' } })))
  t.same(parallel.map((r) => r.status), [200, 200, 200, 200, 200, 200])
})

t.test('a refused refresh token ends the session: the browser logs in again', async (t) => {
  const proxy = await proxyOn(1)
  const store = new SessionStore('_auth_proxy', [SECRET], 1)
  const now = Math.floor(Date.now() / 1000)
  const jar = new CookieJar()
  jar.set(proxy.url, '_auth_proxy', await store.seal({ sid: 'x', user: 'alice', exp: now + 600, refreshAt: now - 1, refreshToken: 'revoked-or-made-up' }))
  const res = await navigate(jar, `${proxy.url}/`)
  t.equal(res.status, 302)
  t.match(String(res.headers.location), new RegExp(`^${provider.issuer}/auth`))
  t.notOk(jar.get(proxy.url, '_auth_proxy'), 'the dead session cookie is removed')
})

t.test('logout: a form with a CSRF token; POST without it or from another origin → 403; with it → provider logout', async (t) => {
  const proxy = await proxyOn(2)
  const jar = new CookieJar()
  await oidcLogin(jar, `${proxy.url}/`, 'bob', USERS.bob?.password ?? '')
  const page = await navigate(jar, `${proxy.url}/_auth/logout`)
  t.equal(page.status, 200)
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  t.ok(csrf.length > 20)

  t.equal((await navigate(jar, `${proxy.url}/_auth/logout`, { form: {} })).status, 403, 'no token')
  t.equal((await navigate(jar, `${proxy.url}/_auth/logout`, { form: { csrf: `${csrf}x` } })).status, 403, 'wrong token')
  t.equal((await navigate(jar, `${proxy.url}/_auth/logout`, { form: { csrf }, headers: { origin: 'http://evil.example' } })).status, 403, 'cross-origin')
  t.equal((await navigate(new CookieJar(), `${proxy.url}/_auth/logout`, { form: { csrf } })).status, 303, 'no session: nothing to protect')
  t.equal((await navigate(jar, `${proxy.url}/`)).status, 200, 'still logged in after the refused attempts')

  const info = JSON.parse((await navigate(jar, `${proxy.url}/_auth/userinfo`)).body) as { user: string, csrfToken: string, groups: string[] }
  t.match(info, { user: 'bob', email: 'bob@example.org', groups: ['researchers'] })
  t.equal(info.csrfToken, csrf, 'apps can build their own logout form from userinfo')

  const out = await navigate(jar, `${proxy.url}/_auth/logout`, { form: { csrf }, headers: { origin: proxy.url } })
  t.equal(out.status, 303)
  const location = new URL(String(out.headers.location))
  t.equal(location.origin, provider.issuer, 'RP-initiated logout at the provider')
  t.ok(location.searchParams.get('id_token_hint'))
  t.equal(location.searchParams.get('post_logout_redirect_uri'), `${proxy.url}/`)
  t.notOk(jar.get(proxy.url, '_auth_proxy'), 'the session cookie is removed')
  t.equal((await navigate(jar, `${proxy.url}/`)).status, 302, 'logged out here')
  t.equal((await send(`${proxy.url}/_auth/userinfo`)).status, 401)
})

/** A replica as its own process, as in a Deployment with several Pods. */
async function replica (t: Test, secrets: Record<string, string>): Promise<string> {
  const [listen, management] = [await freePort(), await freePort()]
  const child = runService('auth-proxy', {
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(listen), MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(management),
    SHUTDOWN_DELAY: '0', ...secrets
  })
  t.teardown(async () => { child.process.kill('SIGTERM'); await child.exited })
  await child.waitFor(/listening/i)
  return `http://127.0.0.1:${listen}`
}

t.test('two replica processes with the same SESSION_SECRET share sessions; one with another secret does not', async (t) => {
  const a = await proxyOn(3)
  const b = await replica(t, { SESSION_SECRET: SECRET })
  const c = await replica(t, { SESSION_SECRET: OTHER_SECRET })
  const rotated = await replica(t, { SESSION_SECRET: OTHER_SECRET, SESSION_SECRET_PREVIOUS: SECRET })
  const jar = new CookieJar()
  await oidcLogin(jar, `${a.url}/`, 'alice', USERS.alice?.password ?? '')
  const cookie = `_auth_proxy=${jar.get(a.url, '_auth_proxy') ?? ''}`
  const at = async (url: string): Promise<number> => (await send(`${url}/`, { headers: { cookie, accept: 'application/json' } })).status
  t.equal(await at(b), 200, 'replica B serves the session made at A')
  t.equal(user((await send(`${b}/`, { headers: { cookie } })).body), 'alice')
  t.equal(await at(c), 401, 'a replica with another secret does not')
  t.equal(await at(rotated), 200, 'after rotation, the previous secret is still accepted')
})

t.test('a large session is split across cookies and joined again; a smaller one clears the extra chunks', async (t) => {
  const proxy = proxies[0] as RunningProxy
  const store = new SessionStore('_auth_proxy', [SECRET], 1)
  const now = Math.floor(Date.now() / 1000)
  const groups = Array.from({ length: 300 }, (_, i) => `research-group-with-a-long-name-${i}`)
  const jar = new CookieJar()
  const big = await store.seal({ sid: 'big', user: 'carol', groups, exp: now + 600, refreshAt: now + 600 })
  t.ok(big.length > 3 * 3_800, `the sealed session is ${big.length} bytes`)
  for (const [i, chunk] of (big.match(/.{1,3800}/g) ?? []).entries()) jar.set(proxy.url, `_auth_proxy_${i}`, chunk)
  const res = await navigate(jar, `${proxy.url}/`)
  t.equal(res.status, 200)
  t.equal(user(res.body), 'carol')
  t.equal(String((JSON.parse(res.body) as Received).headers['x-forwarded-groups']).split(',').length, 300)
  t.notOk((JSON.parse(res.body) as Received).headers.cookie, 'no chunk reaches the app')

  // Writing: a fresh login over a split session sets one cookie and expires the chunks.
  const { res: after } = await oidcLogin(jar, `${proxy.url}/_auth/login`, 'alice', USERS.alice?.password ?? '')
  t.equal(after.status, 200)
  t.notOk(jar.names(proxy.url).some((n) => /^_auth_proxy_\d+$/.test(n)), 'old chunks expired')
  t.equal(user((await navigate(jar, `${proxy.url}/`)).body), 'alice')
})

t.test('the login is started afresh by a browser whose provider session still exists (single sign-on)', async (t) => {
  const proxy = proxies[0] as RunningProxy
  const jar = new CookieJar()
  await oidcLogin(jar, `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')
  jar.delete(proxy.url, '_auth_proxy') // the proxy session is gone, the provider's is not
  const { res, hops } = await follow(jar, `${proxy.url}/sso`)
  t.equal(res.status, 200, 'back without typing a password')
  t.ok(hops.some((h) => h.url.startsWith(provider.issuer)))
})

t.test('SESSION_COOKIE_DOMAIN: the session cookie for the hosts below a domain (forward-auth over several hosts); checked at start', async (t) => {
  const { loadConfig } = await import('../../../../services/auth-proxy/src/config.ts')
  const base = { UPSTREAM_URL: 'http://127.0.0.1:1', OIDC_ISSUER_URL: 'https://id.example.org', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's', SESSION_SECRET: SECRET }
  t.equal(loadConfig({ ...base, SESSION_COOKIE_DOMAIN: '.Example.org' }).auth.session?.cookieDomain, 'example.org', 'RFC 6265 §5.2.3: a leading dot is ignored')
  for (const bad of ['https://example.org', 'example', 'example.org:443', 'exa mple.org']) {
    t.throws(() => loadConfig({ ...base, SESSION_COOKIE_DOMAIN: bad }), /SESSION_COOKIE_DOMAIN: must be a domain/, bad)
  }
  t.equal(loadConfig(base).auth.session?.cookieDomain, undefined, 'unset: host-only')
  const store = new SessionStore('_auth_proxy', [SECRET], 60_000, 'example.org')
  const set: string[] = []
  const reply = { header: (name: string, value: string) => { if (name === 'set-cookie') set.push(value); return reply } }
  await store.write({ headers: {} } as never, reply as never, { sid: 's', user: 'alice', exp: Math.floor(Date.now() / 1000) + 60, refreshAt: 0 }, true)
  t.match(set[0], /^_auth_proxy=[^;]+; Path=\/; Domain=example\.org; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/)
  const hostOnly: string[] = []
  const reply2 = { header: (name: string, value: string) => { if (name === 'set-cookie') hostOnly.push(value); return reply2 } }
  await new SessionStore('_auth_proxy', [SECRET], 60_000).write({ headers: {} } as never, reply2 as never, { sid: 's', user: 'alice', exp: Math.floor(Date.now() / 1000) + 60, refreshAt: 0 }, true)
  t.notMatch(hostOnly[0], /Domain=/)
})
