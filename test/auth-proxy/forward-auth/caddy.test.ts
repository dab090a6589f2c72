// MODE=forward-auth behind a real Caddy 2 (Debian's, forward_auth to /_auth/forward), protecting a recording app:
// allowed with the user copied to the app's request, 401 with the Basic challenge relayed, 403 by rule, public
// paths, spoofing (a client's X-Forwarded-Uri, or its own X-Forwarded-User) failing closed, and a browser without a
// session redirected to the login on its own host and back.
import t from 'tap'
import { CookieJar, navigate } from '../../helpers/browserless.ts'
import { basic, send } from '../../helpers/http.ts'
import { forwardAuthFiles, seenBy, startCaddy, type Front } from '../../helpers/ingress.ts'
import { startProvider, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../helpers/oidc-provider.ts'
import { requestLines, startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../helpers/upstream.ts'

const { dir, htpasswd, groups, rules } = forwardAuthFiles()
let app: Upstream
let proxy: RunningProxy
let caddy: Front
let provider: TestProvider

const ALICE = basic('alice', 'alice-pw')


t.before(async () => {
  app = await startUpstream()
  const port = await freePort()
  provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
  proxy = await startProxy({
    MODE: 'forward-auth', TRUST_PROXY: '127.0.0.1', HTPASSWD_FILE: htpasswd, HTPASSWD_GROUPS_FILE: groups, AUTHZ_RULES_FILE: rules,
    OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_SECRET: 'caddy-forward-auth-secret-0123456789abcdef'
  })
  caddy = await startCaddy(new URL(proxy.url).host, new URL(app.url).host, { port })
})
t.teardown(async () => {
  await caddy.stop(); await proxy.close(); await provider.close(); await app.close(); dir.remove()
})

t.test('allowed: the app gets the request and who it is (copy_headers)', async (t) => {
  const res = await send(`${caddy.url}/notebooks/1`, { headers: { authorization: ALICE } })
  t.equal(res.status, 200)
  t.equal(seenBy(res.body)['x-forwarded-user'], 'alice')
  t.equal(seenBy(res.body)['x-forwarded-email'] ?? '', '', 'alice has no e-mail: empty, not Caddy\'s placeholder')
  const root = await send(`${caddy.url}/admin/x`, { headers: { authorization: basic('root', 'root-pw') } })
  t.equal(seenBy(root.body)['x-forwarded-groups'], 'admins')
  t.match(requestLines(proxy).find((l) => (l.checked as { path?: string } | undefined)?.path === '/notebooks/1'), { path: '/_auth/forward', status: 200, user: 'alice' })
})

t.test('not signed in: a script gets 401 with both challenges relayed; nothing reaches the app', async (t) => {
  const before = app.received.length
  const res = await send(`${caddy.url}/api`, { headers: { accept: 'application/json' } })
  t.equal(res.status, 401)
  t.match(res.headers['www-authenticate'], /Basic realm="Restricted"/)
  t.match(JSON.parse(res.body), { code: 'AUTH_PROXY_ERR_UNAUTHORIZED' })
  t.equal(app.received.length, before)
})

t.test('forbidden by rule: 403 relayed (the error page), nothing reaches the app; public needs no login', async (t) => {
  const before = app.received.length
  const res = await send(`${caddy.url}/admin/x`, { headers: { authorization: ALICE, accept: 'text/html' } })
  t.equal(res.status, 403)
  t.match(res.body, /signed in as <strong>alice<\/strong>/)
  t.equal((await send(`${caddy.url}/admin/x`, { method: 'DELETE', headers: { authorization: ALICE } })).status, 403, 'the method Caddy describes (X-Forwarded-Method) is the one checked')
  t.equal(app.received.length, before)
  t.equal((await send(`${caddy.url}/pub/a.css`)).status, 200)
})

t.test('spoofing: a client\'s X-Forwarded-Uri is overwritten by Caddy; its X-Forwarded-User never reaches the app', async (t) => {
  const before = app.received.length
  t.equal((await send(`${caddy.url}/admin/x`, { headers: { 'x-forwarded-uri': '/pub/x', 'x-forwarded-method': 'GET', accept: 'application/json' } })).status, 401)
  t.equal(app.received.length, before)
  const pub = await send(`${caddy.url}/pub/a.css`, { headers: { 'x-forwarded-user': 'root' } })
  t.equal(seenBy(pub.body)['x-forwarded-user'] ?? '', '', 'the snippet removes the client\'s copy; the answer\'s empty one is all the app sees')
  t.equal(seenBy(pub.body)['x-forwarded-email'] ?? '', '', 'no placeholder text for a field with nothing to say (Caddy 2.6 copy_headers)')
  const alice = await send(`${caddy.url}/x`, { headers: { authorization: ALICE, 'x-forwarded-user': 'root' } })
  t.equal(seenBy(alice.body)['x-forwarded-user'], 'alice', 'and replaces it when it has one')
})

t.test('a browser without a session: 302 to the login on its own host, which leads to the provider and remembers the page', async (t) => {
  const jar = new CookieJar()
  const res = await navigate(jar, `${caddy.url}/notebooks/7?view=a&b=2`)
  t.equal(res.status, 302)
  t.equal(res.headers.location, `${caddy.url}/_auth/login?rd=${encodeURIComponent('/notebooks/7?view=a&b=2')}`)
  const login = await navigate(jar, String(res.headers.location))
  t.equal(login.status, 302)
  t.match(login.headers.location, new RegExp(`^${provider.issuer}/`), 'to the provider')
  t.match(new URL(String(login.headers.location)).searchParams.get('redirect_uri'), `${caddy.url}/_auth/callback`, 'its callback on the app\'s host')
})

t.test('regression: /_auth/forward reachable from a page — only the login endpoints are routed to the proxy', async (t) => {
  const res = await send(`${caddy.url}/_auth/forward`, { headers: { authorization: ALICE, 'x-forwarded-uri': '/' } })
  t.equal(res.headers['x-auth-request-user'], undefined, 'no identity headers (nor an access token) handed to a page')
  t.equal((JSON.parse(res.body) as Received).url, '/_auth/forward', 'Caddy checked it like any path and sent it to the app')
})

t.test('regression: escapes that are not UTF-8 — refused through Caddy too', async (t) => {
  const before = app.received.length
  for (const path of ['/%61dmin/%ff', '/admin/x%c0%af']) t.not((await send(`${caddy.url}${path}`, { headers: { authorization: ALICE } })).status, 200, path)
  t.equal(app.received.length, before)
})
