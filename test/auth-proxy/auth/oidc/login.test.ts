// OpenID Connect login against a real provider (oidc-provider), driven hop by hop: the code flow with PKCE,
// state and nonce, the session cookie, identity upstream, refresh, logout, and the allow-lists.
import t from 'tap'
import { CookieJar, follow, navigate, oidcLogin } from '../../../helpers/browserless.ts'
import { send } from '../../../helpers/http.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../../helpers/oidc-provider.ts'
import { requestLines, startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../../helpers/upstream.ts'

const SECRET = 'a-session-secret-of-at-least-32-characters!'
let provider: TestProvider
let upstream: Upstream
let port: number
let proxy: RunningProxy

const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  UPSTREAM_URL: upstream.url,
  OIDC_ISSUER_URL: provider.issuer,
  OIDC_CLIENT_ID: CLIENT_ID,
  OIDC_CLIENT_SECRET: CLIENT_SECRET,
  SESSION_SECRET: SECRET,
  AUTH_FAILURE_LIMIT: '0',
  ...extra
})

t.before(async () => {
  port = await freePort()
  upstream = await startUpstream()
  provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [`http://127.0.0.1:${port}/`] })
  proxy = await startProxy(env(), port)
})
t.teardown(async () => {
  await proxy.close()
  await provider.close()
  await upstream.close()
})

function seen (body: string): Received {
  return JSON.parse(body) as Received
}

t.test('full code flow: page → provider login → back on the same page with query, identity upstream', async (t) => {
  const jar = new CookieJar()
  const { res, url, hops } = await oidcLogin(jar, `${proxy.url}/notebooks/a?x=1&y=%20`, 'alice', USERS.alice?.password ?? '')
  t.equal(res.status, 200)
  t.equal(url, `${proxy.url}/notebooks/a?x=1&y=%20`, 'back where the browser started, query intact')
  const received = seen(res.body)
  t.equal(received.url, '/notebooks/a?x=1&y=%20')
  t.equal(received.headers['x-forwarded-user'], 'alice')
  t.equal(received.headers['x-forwarded-email'], 'alice@example.org')
  t.equal(received.headers['x-forwarded-groups'], 'researchers,admins')
  t.notOk(received.headers['x-forwarded-access-token'], 'no token upstream unless OIDC_PASS_ACCESS_TOKEN')
  t.notOk((received.headers.cookie ?? '').includes('_auth_proxy'), 'the session cookie never reaches the app')

  const authorize = new URL(hops[1]?.url ?? '')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE')
  t.ok(authorize.searchParams.get('state'), 'state')
  t.ok(authorize.searchParams.get('nonce'), 'nonce')
  t.equal(authorize.searchParams.get('scope'), 'openid profile email')

  // The session works on its own now: no more trips to the provider. The app's own cookies still pass.
  jar.set(proxy.url, '_xsrf', 'app-token')
  const again = await navigate(jar, `${proxy.url}/other`)
  t.equal(again.status, 200)
  t.equal(seen(again.body).headers['x-forwarded-user'], 'alice')
  t.equal(seen(again.body).headers.cookie, '_xsrf=app-token', 'only the app\'s cookie is forwarded')
  const cookie = jar.get(proxy.url, '_auth_proxy') ?? ''
  t.ok(cookie.length > 0 && cookie.length < 4000, `one cookie for a typical session (${cookie.length} bytes)`)
  t.ok(requestLines(proxy).some((l) => l.msg === 'request' && l.user === 'alice'))
})

t.test('a non-browser request without a session gets 401 with a Bearer challenge, not a redirect', async (t) => {
  const res = await send(`${proxy.url}/api`, { headers: { accept: 'application/json' } })
  t.equal(res.status, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="Restricted"')
  const post = await send(`${proxy.url}/`, { method: 'POST', headers: { accept: 'text/html' }, body: 'x' })
  t.equal(post.status, 401, 'a form POST is not sent off to log in (its body would be lost)')
  const xhr = await send(`${proxy.url}/`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'cors' } })
  t.equal(xhr.status, 401, 'a script\'s fetch is not a navigation')
})

t.test('the session cookie is HttpOnly, SameSite=Lax, not Secure over plain HTTP, Secure behind an HTTPS router', async (t) => {
  const jar = new CookieJar()
  const { hops } = await oidcLogin(jar, `${proxy.url}/`, 'bob', USERS.bob?.password ?? '')
  t.ok(hops.length > 3)
  const callback = await (async () => {
    // Log in again, stopping at the callback to read its Set-Cookie.
    const j = new CookieJar()
    const toForm = await follow(j, `${proxy.url}/`)
    const action = /action="([^"]+)"/.exec(toForm.res.body)?.[1] ?? ''
    let res = await navigate(j, new URL(action, toForm.url).href, { form: { login: 'bob', password: USERS.bob?.password ?? '' } })
    let url = new URL(action, toForm.url).href
    while (!url.includes('/_auth/callback')) {
      url = new URL(String(res.headers.location), url).href
      res = await navigate(j, url)
    }
    return res
  })()
  const setCookie = ([] as string[]).concat(callback.headers['set-cookie'] ?? [])
  const session = setCookie.find((c) => c.startsWith('_auth_proxy='))
  t.equal(setCookie.filter((c) => c.startsWith('_auth_proxy=')).length, 1, 'set once (regression: values were repeated until the headers overflowed)')
  t.match(session, /; HttpOnly/)
  t.match(session, /; SameSite=Lax/)
  t.notMatch(session, /Secure/)
  t.match(session, /Max-Age=4320\d/, 'the session lifetime (12 h)')
  t.ok(setCookie.some((c) => /^_auth_proxy_login_[^=]+=; Path=\/_auth\/; Max-Age=0/.test(c)), 'the one-time login cookie is removed')
})

t.test('SESSION_COOKIE_SECURE=true: Secure even over plain HTTP (an edge Route whose router is not trusted)', async (t) => {
  const p2port = await freePort()
  const p = await startProvider({ redirectUris: [`http://127.0.0.1:${p2port}/_auth/callback`], postLogoutRedirectUris: [] })
  const proxy2 = await startProxy({ ...env(), OIDC_ISSUER_URL: p.issuer, SESSION_COOKIE_SECURE: 'true' }, p2port)
  t.teardown(async () => { await proxy2.close(); await p.close() })
  const res = await send(`${proxy2.url}/`, { headers: { accept: 'text/html' } })
  t.match(([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n'), /_auth_proxy_login_[^;]+;.*; Secure/)
})

t.test('behind a trusted HTTPS router (TRUST_PROXY + X-Forwarded-Proto: https), cookies are Secure and the callback is https', async (t) => {
  const p2port = await freePort()
  const p = await startProvider({ redirectUris: [`https://app.example.org/_auth/callback`], postLogoutRedirectUris: [] })
  const proxy2 = await startProxy({ ...env(), OIDC_ISSUER_URL: p.issuer, TRUST_PROXY: 'loopback' }, p2port)
  t.teardown(async () => { await proxy2.close(); await p.close() })
  const res = await send(`${proxy2.url}/`, { headers: { accept: 'text/html', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.org' } })
  t.equal(res.status, 302)
  t.equal(new URL(String(res.headers.location)).searchParams.get('redirect_uri'), 'https://app.example.org/_auth/callback')
  t.match(([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n'), /; Secure/)
  const spoofed = await send(`${proxy.url}/`, { headers: { accept: 'text/html', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } })
  t.match(new URL(String(spoofed.headers.location)).searchParams.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:/, 'from an untrusted peer, X-Forwarded-* are ignored')
})

t.test('OIDC_PASS_ACCESS_TOKEN sends the access token upstream', async (t) => {
  const p2port = await freePort()
  const p = await startProvider({ redirectUris: [`http://127.0.0.1:${p2port}/_auth/callback`], postLogoutRedirectUris: [] })
  const proxy2 = await startProxy({ ...env(), OIDC_ISSUER_URL: p.issuer, OIDC_PASS_ACCESS_TOKEN: 'true' }, p2port)
  t.teardown(async () => { await proxy2.close(); await p.close() })
  const { res } = await oidcLogin(new CookieJar(), `${proxy2.url}/`, 'alice', USERS.alice?.password ?? '')
  t.ok(String(seen(res.body).headers['x-forwarded-access-token'] ?? '').length > 20)
})

t.test('no token, code, cookie, client secret or password in any log line, even at trace level', async (t) => {
  const p2port = await freePort()
  const p = await startProvider({ redirectUris: [`http://127.0.0.1:${p2port}/_auth/callback`], postLogoutRedirectUris: [] })
  const traced = await startProxy({ ...env(), OIDC_ISSUER_URL: p.issuer, LOG_LEVEL: 'trace', OIDC_PASS_ACCESS_TOKEN: 'true' }, p2port)
  t.teardown(async () => { await traced.close(); await p.close() })
  const jar = new CookieJar()
  const { res, hops } = await oidcLogin(jar, `${traced.url}/secret-scan`, 'alice', USERS.alice?.password ?? '')
  t.equal(res.status, 200)
  const code = new URL(hops.find((h) => h.url.includes('/_auth/callback'))?.url ?? 'http://x/').searchParams.get('code') ?? ''
  const secrets = [
    code,
    jar.get(traced.url, '_auth_proxy') ?? '',
    String(seen(res.body).headers['x-forwarded-access-token'] ?? ''),
    CLIENT_SECRET,
    SECRET,
    USERS.alice?.password ?? ''
  ]
  await navigate(jar, `${traced.url}/again`)
  await send(`${traced.url}/api`, { headers: { authorization: `Bearer ${await p.mint({})}` } })
  const text = traced.rawLogs.join('')
  t.ok(text.includes('"msg":"login"'), 'the login itself is logged')
  for (const secret of secrets) {
    t.ok(secret.length > 8, 'a real secret to look for')
    t.notOk(text.includes(secret), `${secret.slice(0, 6)}… not logged`)
  }
})
