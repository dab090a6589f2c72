// MODE=forward-auth behind a real nginx (Debian's, auth_request), protecting a recording app: allowed with the user
// passed on (auth_request_set), 401 with the challenge back to the client, 403 by rule, public paths, every
// spoofing of the described request (a client's X-Forwarded-Uri / X-Original-URL / identity headers) failing
// closed — also with a careless nginx config that passes them on — and the OpenID Connect login in Chromium.
import { chromium } from 'playwright-core'
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { forwardAuthFiles, seenBy, startNginx, type Front } from '../../helpers/ingress.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET } from '../../helpers/oidc-provider.ts'
import { requestLines, startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { exchange } from '../../helpers/raw-client.ts'
import { freePort, startUpstream, type Received, type Upstream } from '../../helpers/upstream.ts'

const { dir, htpasswd, groups, rules } = forwardAuthFiles()
let app: Upstream
let proxy: RunningProxy
let nginx: Front
let careless: Front

const ALICE = basic('alice', 'alice-pw')


t.before(async () => {
  app = await startUpstream()
  proxy = await startProxy({ MODE: 'forward-auth', TRUST_PROXY: '127.0.0.1', HTPASSWD_FILE: htpasswd, HTPASSWD_GROUPS_FILE: groups, AUTHZ_RULES_FILE: rules })
  const auth = new URL(proxy.url).host
  nginx = await startNginx(auth, new URL(app.url).host)
  careless = await startNginx(auth, new URL(app.url).host, { clearOthers: false })
})
t.teardown(async () => {
  await nginx.stop(); await careless.stop(); await proxy.close(); await app.close(); dir.remove()
})

t.test('allowed: the app gets the request, and who it is from auth_request_set', async (t) => {
  const res = await send(`${nginx.url}/notebooks/1?x=1`, { headers: { authorization: ALICE } })
  t.equal(res.status, 200)
  t.equal(seenBy(res.body)['x-forwarded-user'], 'alice')
  const root = await send(`${nginx.url}/admin/users`, { headers: { authorization: basic('root', 'root-pw') } })
  t.equal(root.status, 200)
  t.equal(seenBy(root.body)['x-forwarded-groups'], 'admins')
  const line = requestLines(proxy).find((l) => (l.checked as { path?: string } | undefined)?.path === '/notebooks/1')
  t.match(line, { path: '/_auth/check', status: 200, user: 'alice', rule: 'default', authz: 'allow', checked: { method: 'GET', host: /^127\.0\.0\.1/, path: '/notebooks/1' } }, 'the log names the request checked, without its query')
})

t.test('not signed in: 401 with the Basic challenge passed back by nginx; nothing reaches the app', async (t) => {
  const before = app.received.length
  const res = await send(`${nginx.url}/notebooks/1`)
  t.equal(res.status, 401)
  t.equal(res.headers['www-authenticate'], 'Basic realm="Restricted", charset="UTF-8"')
  t.equal((await send(`${nginx.url}/x`, { headers: { authorization: basic('alice', 'wrong') } })).status, 401)
  t.equal(app.received.length, before)
})

t.test('forbidden by rule: 403, nothing reaches the app; a public path needs no login', async (t) => {
  const before = app.received.length
  t.equal((await send(`${nginx.url}/admin/users`, { headers: { authorization: ALICE } })).status, 403)
  t.equal((await send(`${nginx.url}/admin/users`, { method: 'POST', headers: { authorization: ALICE, 'content-type': 'text/plain' }, body: 'x' })).status, 403, 'the described method (POST) is the one checked')
  t.equal(app.received.length, before)
  const pub = await send(`${nginx.url}/pub/app.css`)
  t.equal(pub.status, 200)
  t.equal(seenBy(pub.body)['x-forwarded-user'], undefined, 'no identity for a public path')
})

t.test('spoofing: a client\'s X-Forwarded-Uri / X-Original-URL / identity headers change nothing', async (t) => {
  const before = app.received.length
  const spoof = { 'x-forwarded-uri': '/pub/x', 'x-original-url': 'http://x/pub/x', 'x-original-uri': '/pub/x', 'x-forwarded-method': 'GET' }
  t.equal((await send(`${nginx.url}/admin`, { headers: spoof })).status, 401, 'the snippet sets the description itself')
  t.equal((await send(`${nginx.url}/admin`, { headers: { ...spoof, authorization: ALICE } })).status, 403)
  t.equal(app.received.length, before, 'nothing reached the app')
  const pub = await send(`${nginx.url}/pub/x`, { headers: { 'x-forwarded-user': 'root', 'x-auth-request-user': 'root' } })
  t.equal(seenBy(pub.body)['x-forwarded-user'], undefined, 'a forged user on a public path does not reach the app')
})

t.test('spoofing through a careless nginx (client X-Forwarded-Uri passed on): two descriptions disagree → refused, never public', async (t) => {
  const before = app.received.length
  const res = await send(`${careless.url}/admin`, { headers: { 'x-forwarded-uri': '/pub/x' } })
  t.not(res.status, 200)
  t.equal(res.status, 500, 'nginx turns the check\'s 400 into 500: closed')
  t.equal(app.received.length, before)
  t.ok(requestLines(proxy).some((l) => l.status === 400 && l.path === '/_auth/check'), 'the proxy refused the check (AUTH_PROXY_ERR_CHECK_REQUEST)')
  t.equal((await send(`${careless.url}/admin`, { headers: { 'x-forwarded-uri': '/admin', authorization: basic('root', 'root-pw') } })).status, 200, 'an agreeing copy is harmless')
})

t.test('the check itself, asked directly by a peer outside TRUST_PROXY: 403, whatever it describes', async (t) => {
  const res = await send(`${proxy.url}/_auth/check`, { headers: { 'x-original-uri': '/pub/x', accept: 'application/json' }, localAddress: '127.0.0.2' })
  t.equal(res.status, 403)
  t.match(JSON.parse(res.body), { code: 'AUTH_PROXY_ERR_CHECK_UNTRUSTED' })
  t.equal((await send(`${proxy.url}/anything`)).status, 404, 'no app behind: everything else is 404')
})

t.test('OpenID Connect through nginx in Chromium: the page → the provider\'s form → back on the page, signed in', async (t) => {
  const port = await freePort()
  const provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
  t.teardown(async () => { await provider.close() })
  const oidc = await startProxy({
    MODE: 'forward-auth', TRUST_PROXY: '127.0.0.1', OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'forward-auth-session-secret-0123456789abcdef'
  })
  t.teardown(async () => { await oidc.close() })
  const front = await startNginx(new URL(oidc.url).host, new URL(app.url).host, { port })
  t.teardown(async () => { await front.stop() })
  t.equal((await send(`${front.url}/api`, { headers: { accept: 'application/json' } })).status, 401, 'a script: 401')

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.goto(`${front.url}/notebooks/7?view=a&b=2`)
  t.match(page.url(), new RegExp(`^${provider.issuer}/interaction/`), 'on the provider\'s login form')
  await page.fill('#username', 'alice')
  await page.fill('#password', USERS.alice?.password ?? '')
  await Promise.all([page.waitForURL(`${front.url}/notebooks/7?view=a&b=2`), page.click('#sign-in')])
  const received = JSON.parse(await page.textContent('body') ?? '{}') as Received
  t.equal(received.url, '/notebooks/7?view=a&b=2', 'back on the page, query and all')
  t.equal(received.headers['x-forwarded-user'], 'alice')
  t.equal(received.headers['x-forwarded-email'], 'alice@example.org')
})

t.test('regression: the described host chosen by the client — absolute-form, a trailing dot, no Host — decides nothing', async (t) => {
  const hostRules = dir.file('host-rules.yaml', 'rules:\n  - host: public.example.org\n    allow: public\n  - host: admin.example.org\n    allow: { groups: [admins] }\n')
  const hp = await startProxy({ MODE: 'forward-auth', TRUST_PROXY: '127.0.0.1', HTPASSWD_FILE: htpasswd, HTPASSWD_GROUPS_FILE: groups, AUTHZ_RULES_FILE: hostRules })
  t.teardown(async () => { await hp.close() })
  const front = await startNginx(new URL(hp.url).host, new URL(app.url).host, { serverNames: ['admin.example.org', 'public.example.org'] })
  t.teardown(async () => { await front.stop() })
  const ask = async (requestLine: string, headers: string[]): Promise<number | undefined> =>
    (await exchange(front.port, `${requestLine}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`, { responses: 1 })).statuses[0]
  const before = app.received.length
  t.equal(await ask('GET /x HTTP/1.1', ['Host: public.example.org']), 200, 'the public host is public')
  const afterPublic = app.received.length
  t.equal(await ask('GET http://admin.example.org/x HTTP/1.1', ['Host: public.example.org']), 401, 'absolute-form: nginx routes by the request line, and so does the check')
  t.equal(await ask('GET /x HTTP/1.1', ['Host: admin.example.org.', `Authorization: ${ALICE}`]), 403, 'a trailing dot is the same host')
  t.equal(await ask('GET /x HTTP/1.0', [`Authorization: ${ALICE}`]), 403, 'no Host: the default server\'s name, not the check\'s own Host')
  t.equal(app.received.length, afterPublic, 'none of those reached the app')
  t.ok(afterPublic > before)
})

t.test('regression: escapes that are not UTF-8 hid the decoded path from the rules — refused, nothing reaches the app', async (t) => {
  const before = app.received.length
  for (const path of ['/%61dmin/%ff', '/%61dmin/users%ff', '/admin/x%e2%82', '/admin/x%c0%af']) {
    const res = await send(`${nginx.url}${path}`, { headers: { authorization: ALICE } })
    t.not(res.status, 200, `${path} → ${res.status}`)
  }
  t.equal(app.received.length, before)
})

t.test('regression: the check reachable from the browser — /_auth/check is nginx\'s alone', async (t) => {
  const res = await send(`${nginx.url}/_auth/check`, { headers: { authorization: ALICE, 'x-original-uri': '/' } })
  t.equal(res.status, 404, 'internal: not for clients')
  t.equal(res.headers['x-auth-request-user'], undefined, 'no identity headers handed to a page')
  const forward = await send(`${nginx.url}/_auth/forward`, { headers: { authorization: ALICE, 'x-forwarded-uri': '/' } })
  t.equal(forward.headers['x-auth-request-user'], undefined)
  t.equal((JSON.parse(forward.body) as Received).url, '/_auth/forward', 'not the proxy\'s: checked like any path and sent to the app')
})

t.test('regression: the throttle counted failures under an X-Forwarded-For the client chose', async (t) => {
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await send(`${nginx.url}/t`, { headers: { authorization: basic('root', `wrong${i}`), 'x-forwarded-for': `203.0.113.${i}` } })).status)
  t.same(statuses.slice(0, 10), Array(10).fill(401))
  t.same(statuses.slice(10), [500, 500], 'throttled after 10 (nginx turns the check\'s 429 into 500)')
  const lines = requestLines(proxy).filter((l) => (l.checked as { path?: string } | undefined)?.path === '/t')
  t.ok(lines.every((l) => l.client === '127.0.0.1'), 'counted under the address nginx saw')
})
