// Bearer tokens (RFC 6750) from the same issuer, validated against its JWKS; who may enter (e-mail domains,
// groups); Basic and OpenID Connect side by side; the provider being down.
import t from 'tap'
import { CookieJar, navigate, oidcLogin } from '../../../helpers/browserless.ts'
import { basic, send } from '../../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../../helpers/oidc-provider.ts'
import { requestLines, startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../../helpers/upstream.ts'

const SECRET = 'bearer-tests-session-secret-0123456789abc'
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

async function start (extra: Record<string, string> = {}, listenPort = 0): Promise<RunningProxy> {
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: SECRET, AUTH_FAILURE_LIMIT: '0', ...extra
  }, listenPort)
  t.teardown(async () => { await proxy.close() })
  return proxy
}

async function withBearer (proxy: RunningProxy, token: string): Promise<{ status: number, challenge: unknown, body: string }> {
  const res = await send(`${proxy.url}/api`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })
  return { status: res.status, challenge: res.headers['www-authenticate'], body: res.body }
}

t.test('bearer tokens: valid → 200 with identity; wrong audience, issuer, key, algorithm or expired → 401 invalid_token', async (t) => {
  const proxy = await start()
  const claims = { sub: 'alice', preferred_username: 'alice', email: 'alice@example.org', groups: ['researchers'] }
  const ok = await withBearer(proxy, await provider.mint(claims))
  t.equal(ok.status, 200)
  const seen = (JSON.parse(ok.body) as Received).headers
  t.equal(seen['x-forwarded-user'], 'alice')
  t.equal(seen['x-forwarded-groups'], 'researchers')
  t.notOk(seen.authorization, 'the token is not passed on')

  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, string]> = [
    ['wrong audience', await provider.mint({ ...claims, aud: 'another-client' })],
    ['wrong issuer', await provider.mint({ ...claims, iss: 'http://127.0.0.1:1/' })],
    ['expired', await provider.mint({ ...claims, exp: now - 120 })],
    ['not yet valid', await provider.mint({ ...claims, nbf: now + 600 })],
    ['signed by a key the provider does not publish (same kid)', await provider.mint(claims, { key: provider.strangerKey })],
    ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: provider.issuer, aud: CLIENT_ID, exp: now + 300 })).toString('base64url')}.`],
    ['HS256 with the public key as the secret (key confusion)', await (async () => {
      const { SignJWT } = await import('jose')
      return await new SignJWT({ ...claims, iss: provider.issuer, aud: CLIENT_ID }).setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' }).setExpirationTime('5m')
        .sign(new TextEncoder().encode('guessable-shared-secret-guessable-shared'))
    })()],
    ['a signature cut off', (await provider.mint(claims)).replace(/\.[^.]+$/, '.')],
    ['a back-channel logout token (our audience, a sub, an exp: all a bearer has)', await provider.mint({ ...claims, jti: 'j-1', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })],
    ['garbage', 'not.a.jwt'],
    ['empty', '']
  ]
  for (const [what, token] of cases) {
    const res = await withBearer(proxy, token)
    t.equal(res.status, 401, `${what}: 401`)
    t.equal(res.challenge, 'Bearer realm="Restricted", error="invalid_token"', `${what}: RFC 6750 challenge`)
  }
  t.notOk(requestLines(proxy).some((l) => l.status === 500), 'no token made the proxy fail')
  t.notOk(proxy.rawLogs.join('').includes(cases[0]?.[1] ?? 'x'), 'tokens are not logged')
})

t.test('OIDC_BEARER_AUDIENCES admits tokens for another audience (an API)', async (t) => {
  const proxy = await start({ OIDC_BEARER_AUDIENCES: 'https://api.example.org' })
  t.equal((await withBearer(proxy, await provider.mint({ aud: 'https://api.example.org' }))).status, 200)
  t.equal((await withBearer(proxy, await provider.mint({ aud: 'https://other.example.org' }))).status, 401)
})

t.test('OIDC_ALLOWED_EMAIL_DOMAINS: other domains and unverified addresses → 403, no session', async (t) => {
  const proxy = await start({ OIDC_ALLOWED_EMAIL_DOMAINS: 'example.org' }, port)
  const jar = new CookieJar()
  const ok = await oidcLogin(jar, `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')
  t.equal(ok.res.status, 200)
  for (const user of ['mallory', 'eve']) {
    const j = new CookieJar()
    const { res } = await oidcLogin(j, `${proxy.url}/`, user, USERS[user]?.password ?? '')
    t.equal(res.status, 403, `${user}: 403`)
    t.match(res.body, /AUTH_PROXY_ERR_FORBIDDEN/)
    t.notOk(j.get(proxy.url, '_auth_proxy'), `${user}: no session cookie`)
  }
  t.equal((await withBearer(proxy, await provider.mint({ email: 'x@evil.example' }))).status, 403, 'bearer from another domain')
  t.ok(requestLines(proxy).some((l) => l.auth === 'denied'), 'logged as denied')
})

t.test('OIDC_ALLOWED_GROUPS (OIDC_GROUPS_CLAIM): members in, others 403', async (t) => {
  const p2 = await freePort()
  const other = await startProvider({ redirectUris: [`http://127.0.0.1:${p2}/_auth/callback`], postLogoutRedirectUris: [] })
  t.teardown(async () => { await other.close() })
  const proxy = await start({ OIDC_ISSUER_URL: other.issuer, OIDC_ALLOWED_GROUPS: 'admins' }, p2)
  t.equal((await oidcLogin(new CookieJar(), `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')).res.status, 200, 'alice is an admin')
  t.equal((await oidcLogin(new CookieJar(), `${proxy.url}/`, 'bob', USERS.bob?.password ?? '')).res.status, 403, 'bob is not')
  t.equal((await withBearer(proxy, await other.mint({ groups: ['researchers'] }))).status, 403)
  t.equal((await withBearer(proxy, await other.mint({ groups: ['admins'] }))).status, 200)
})

t.test('Basic and OpenID Connect together: curl uses Basic, browsers go to the provider, 401 offers both', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const proxy = await start({ HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('admin', 'admin1041')) })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status, 200, 'Basic')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'wrong') } })).status, 401)
  const none = await send(`${proxy.url}/`, { headers: { accept: '*/*' } })
  t.equal(none.status, 401)
  t.same(none.headers['www-authenticate'], 'Basic realm="Restricted", charset="UTF-8", Bearer realm="Restricted"')
  const browser = await navigate(new CookieJar(), `${proxy.url}/`)
  t.equal(browser.status, 302, 'a browser is sent to the provider')
  t.equal((await withBearer(proxy, await provider.mint({}))).status, 200, 'bearer')
})

t.test('provider down at start: not ready, logins and bearer tokens get 503; ready once it answers', async (t) => {
  const deadPort = await freePort()
  const proxy = await start({ OIDC_ISSUER_URL: `http://127.0.0.1:${deadPort}`, OIDC_HEALTH_INTERVAL: '100ms', OIDC_TIMEOUT: '1s' })
  t.equal(proxy.app.credentials.ready(), false)
  t.match(proxy.app.credentials.status(), { ready: false, lastError: /discovery/ })
  const browser = await navigate(new CookieJar(), `${proxy.url}/`)
  t.equal(browser.status, 503)
  t.equal(browser.headers['retry-after'], '5')
  t.equal((await withBearer(proxy, await provider.mint({}))).status, 503)

  const late = await startProvider({ redirectUris: [], postLogoutRedirectUris: [], port: deadPort })
  t.teardown(async () => { await late.close() })
  for (let i = 0; i < 50 && !proxy.app.credentials.ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(proxy.app.credentials.ready(), true, 'ready after discovery succeeded')
  t.equal((await navigate(new CookieJar(), `${proxy.url}/`)).status, 302)
})

t.test('provider-outage-after-start: browsers get 503 with Retry-After instead of a redirect to the dead provider; bearer tokens signed by a cached key still verify; recovery without restart', async (t) => {
  const providerPort = await freePort()
  const own = await startProvider({ redirectUris: [], postLogoutRedirectUris: [], port: providerPort })
  const proxy = await start({ OIDC_ISSUER_URL: own.issuer, OIDC_HEALTH_INTERVAL: '200ms', OIDC_TIMEOUT: '1s' })
  t.equal((await navigate(new CookieJar(), `${proxy.url}/`)).status, 302, 'up: a browser is sent to log in')
  const token = await own.mint({})
  t.equal((await withBearer(proxy, token)).status, 200, 'up: bearer accepted (the key set is now cached)')

  await own.close()
  for (let i = 0; i < 50 && proxy.app.credentials.ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(proxy.app.credentials.ready(), false, 'the outage is noticed: not ready')
  const browser = await navigate(new CookieJar(), `${proxy.url}/`)
  t.equal(browser.status, 503, 'no redirect to the dead provider')
  t.equal(browser.headers['retry-after'], '5')
  t.equal(browser.headers.location, undefined)
  t.match(browser.body, /AUTH_PROXY_ERR_BACKEND_UNAVAILABLE/)
  t.equal((await withBearer(proxy, token)).status, 200, 'a bearer token signed by a key already fetched still verifies (README: Provider outages)')
  t.equal((await withBearer(proxy, await own.mint({}, { key: own.strangerKey, kid: 'rotated' }))).status, 401, 'a key the proxy never saw is no key of the provider\'s: 401')
  t.match(requestLines(proxy).find((l) => l.status === 503), { auth: 'unavailable' }, 'the 503 is logged as such')

  const back = await startProvider({ redirectUris: [], postLogoutRedirectUris: [], port: providerPort })
  t.teardown(async () => { await back.close() })
  for (let i = 0; i < 50 && !proxy.app.credentials.ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(proxy.app.credentials.ready(), true, 'ready again without a restart')
  t.equal((await navigate(new CookieJar(), `${proxy.url}/`)).status, 302, 'browsers are sent to log in again')
})
