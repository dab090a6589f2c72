// Attacks on the OpenID Connect login, each named after what it tries, against the real provider: forged and
// replayed callbacks, state/nonce/PKCE mismatches, tampered and expired session cookies, open redirects.
import t from 'tap'
import { CookieJar, follow, navigate, oidcLogin } from '../../../helpers/browserless.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../../helpers/oidc-provider.ts'
import { startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream, type Upstream } from '../../../helpers/upstream.ts'
import { SessionStore } from '../../../../services/auth-proxy/src/auth/oidc/session.ts'

const SECRET = 'attack-tests-session-secret-0123456789abcdef'
let provider: TestProvider
let upstream: Upstream
let proxy: RunningProxy
const store = new SessionStore('_auth_proxy', [SECRET], 3_600_000)

t.before(async () => {
  const port = await freePort()
  upstream = await startUpstream()
  provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
  proxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: SECRET, AUTH_FAILURE_LIMIT: '0'
  }, port)
})
t.teardown(async () => {
  await proxy.close()
  await provider.close()
  await upstream.close()
})

/** Runs a login up to the provider's redirect back to the callback, without following it. */
async function codeFor (jar: CookieJar, user = 'alice'): Promise<string> {
  const toForm = await follow(jar, `${proxy.url}/start`)
  const action = /action="([^"]+)"/.exec(toForm.res.body)?.[1] ?? ''
  let url = new URL(action, toForm.url).href
  let res = await navigate(jar, url, { form: { login: user, password: USERS[user]?.password ?? '' } })
  for (;;) {
    url = new URL(String(res.headers.location), url).href
    if (url.startsWith(`${proxy.url}/_auth/callback`)) return url
    res = await navigate(jar, url)
  }
}

function loginCookieName (jar: CookieJar): string {
  return jar.names(proxy.url).find((n) => n.startsWith('_auth_proxy_login_')) ?? ''
}

/** Re-seals the browser's login cookie with the real secret but some fields changed: a forgery only we could make. */
async function tamperLogin (jar: CookieJar, changes: Record<string, string>): Promise<void> {
  const name = loginCookieName(jar)
  const login = await store.unsealPayload(jar.get(proxy.url, name) ?? '')
  jar.set(proxy.url, name, await store.seal({ ...login, ...changes, exp: Math.floor(Date.now() / 1000) + 60 }))
}

t.test('forged callback: a state this browser never started → 400, no session', async (t) => {
  const res = await navigate(new CookieJar(), `${proxy.url}/_auth/callback?code=abc&state=made-up`)
  t.equal(res.status, 400)
  t.match(res.body, /AUTH_PROXY_ERR_LOGIN_FAILED/)
  t.notOk(([] as string[]).concat(res.headers['set-cookie'] ?? []).some((c) => c.startsWith('_auth_proxy=')))
})

t.test('login CSRF: a callback URL from the attacker\'s own login, opened in the victim\'s browser → 400', async (t) => {
  const attacker = new CookieJar()
  const callback = await codeFor(attacker, 'mallory')
  const victim = new CookieJar()
  await follow(victim, `${proxy.url}/victim-page`) // the victim has a login of its own under way
  const res = await navigate(victim, callback)
  t.equal(res.status, 400, 'the victim holds no login cookie for the attacker\'s state')
  t.notOk(victim.get(proxy.url, '_auth_proxy'))
})

t.test('replayed callback: the same code and state a second time → 400 (the login cookie is single-use)', async (t) => {
  const jar = new CookieJar()
  const callback = await codeFor(jar)
  const cookieName = loginCookieName(jar)
  const loginCookie = jar.get(proxy.url, cookieName) ?? ''
  t.equal((await navigate(jar, callback)).status, 302, 'first use logs in')
  jar.delete(proxy.url, '_auth_proxy')
  t.equal((await navigate(jar, callback)).status, 400, 'the login cookie is gone')
  jar.set(proxy.url, cookieName, loginCookie)
  t.equal((await navigate(jar, callback)).status, 400, 'even with the login cookie replayed, the provider refuses a used code')
})

t.test('state mismatch: the login cookie re-sealed with another state → 400', async (t) => {
  const jar = new CookieJar()
  const callback = await codeFor(jar)
  await tamperLogin(jar, { state: 'other-state' })
  t.equal((await navigate(jar, callback)).status, 400)
})

t.test('nonce mismatch: an ID token for another nonce → 400', async (t) => {
  const jar = new CookieJar()
  const callback = await codeFor(jar)
  await tamperLogin(jar, { nonce: 'not-the-nonce' })
  const res = await navigate(jar, callback)
  t.equal(res.status, 400)
  t.notOk(jar.get(proxy.url, '_auth_proxy'))
})

t.test('PKCE: a code redeemed with another verifier → 400 (the provider refuses it)', async (t) => {
  const jar = new CookieJar()
  const callback = await codeFor(jar)
  await tamperLogin(jar, { verifier: 'x'.repeat(43) })
  t.equal((await navigate(jar, callback)).status, 400)
})

t.test('tampered session cookie: one character changed → no session (login again), never an error', async (t) => {
  const jar = new CookieJar()
  await oidcLogin(jar, `${proxy.url}/`, 'alice', USERS.alice?.password ?? '')
  const cookie = jar.get(proxy.url, '_auth_proxy') ?? ''
  const i = Math.floor(cookie.length / 2)
  jar.set(proxy.url, '_auth_proxy', cookie.slice(0, i) + (cookie[i] === 'A' ? 'B' : 'A') + cookie.slice(i + 1))
  const res = await navigate(jar, `${proxy.url}/`)
  t.equal(res.status, 302)
  t.match(String(res.headers.location), new RegExp(`^${provider.issuer}/auth\\?`), 'sent to the provider again')
})

t.test('expired and foreign-key sessions are refused; a session minted with the real key is accepted', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const base = { sid: 's1', user: 'alice', refreshAt: now + 600 }
  const check = async (value: string): Promise<number> => {
    const jar = new CookieJar()
    jar.set(proxy.url, '_auth_proxy', value)
    return (await navigate(jar, `${proxy.url}/`)).status
  }
  t.equal(await check(await store.seal({ ...base, exp: now + 600 })), 200, 'control: a valid session')
  t.equal(await check(await store.seal({ ...base, exp: now - 1 })), 302, 'expired')
  const other = new SessionStore('_auth_proxy', ['another-secret-of-at-least-32-characters!!'], 3_600_000)
  t.equal(await check(await other.seal({ ...base, exp: now + 600 })), 302, 'sealed under another secret')
  t.equal(await check('not-a-jwe'), 302, 'garbage')
})

t.test('open redirect: every return-path variant ends on this site\'s root', async (t) => {
  const variants = ['//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example', 'https:evil.example',
    '/%2F%2Fevil.example', '/%2f%5cevil.example', '/%5C%5Cevil.example', '/\t/evil.example', '/%09/evil.example',
    ' //evil.example', '/%0d%0a//evil.example', '//%09evil.example', 'javascript:alert(1)', '/%E0%A4%A', '///evil.example',
    '%2F%2Fevil.example', '/ /evil.example']
  for (const rd of variants) {
    const jar = new CookieJar()
    const res = await navigate(jar, `${proxy.url}/_auth/login?rd=${encodeURIComponent(rd)}`)
    t.equal(res.status, 302, `${JSON.stringify(rd)}: to the provider`)
    const login = await store.unsealPayload(jar.get(proxy.url, loginCookieName(jar)) ?? '')
    t.equal(login?.returnTo, '/', `${JSON.stringify(rd)} → /`)
  }
  const fine = new CookieJar()
  await navigate(fine, `${proxy.url}/_auth/login?rd=${encodeURIComponent('/lab/tree?path=a%2Fb#x')}`)
  t.equal((await store.unsealPayload(fine.get(proxy.url, loginCookieName(fine)) ?? ''))?.returnTo, '/lab/tree?path=a%2Fb#x', 'a legitimate path is kept')

  // End to end: after the provider, the browser lands on the root, never elsewhere.
  const jar = new CookieJar()
  const { url } = await oidcLogin(jar, `${proxy.url}/_auth/login?rd=${encodeURIComponent('//evil.example/x')}`, 'alice', USERS.alice?.password ?? '')
  t.equal(url, `${proxy.url}/`)
})

t.test('an absolute-form request target (GET http://evil/…) cannot become the return path', async (t) => {
  const { connect } = await import('node:net')
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1')
    let data = ''
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
    socket.on('end', () => { resolve(data) })
    socket.on('error', reject)
    socket.write('GET http://evil.example/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n')
  })
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])
  const sealed = /set-cookie: _auth_proxy_login_[^=]+=([^;]+)/i.exec(raw)?.[1]
  const login = sealed === undefined ? null : await store.unsealPayload(sealed)
  t.ok(status === 400 || (status === 302 && login?.returnTo === '/'), `refused or sent home (status ${status}, returnTo ${String(login?.returnTo)})`)
})

t.test('the reserved prefix is never forwarded', async (t) => {
  const before = upstream.received.length
  for (const path of ['/_auth', '/_auth/', '/_auth/anything', '/_auth/callback/extra']) {
    const res = await navigate(new CookieJar(), `${proxy.url}${path}`)
    t.equal(res.status, 404, path)
  }
  t.equal(upstream.received.length, before)
})
