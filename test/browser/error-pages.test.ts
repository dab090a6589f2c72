// What a person sees in Chromium when something is not right: the app starting (and the page reloading by
// itself into the app once it is up), the app down, too many failed sign-ins, signed in but not allowed (as whom,
// with a sign-out link), the sign-in service unreachable. Each page is checked for what it must hold — the
// request id, a strict CSP, no external assets, a phone-sized layout — and screenshotted (desktop and phone)
// into test-artifacts/browser/. Scripts still get the short text and JSON answers.
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { basic, send } from '../helpers/http.ts'
import { CLIENT_ID, CLIENT_SECRET, startProvider, USERS } from '../helpers/oidc-provider.ts'
import { ROOT } from '../helpers/process.ts'
import { startProxy, type RunningProxy } from '../helpers/proxy.ts'
import { freePort, startUpstream } from '../helpers/upstream.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser')
let browser: Browser

t.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
})
t.teardown(async () => { await browser.close() })

/** The page as a browser shows it, on a desktop and on a phone; checks what every error page must hold. */
async function look (t: Test, context: BrowserContext, url: string, name: string, expect: { status: number, title: RegExp }): Promise<Page> {
  const page = await context.newPage()
  const res = await page.goto(url)
  t.equal(res?.status(), expect.status, `${name}: status`)
  t.match(await page.textContent('h1'), expect.title, `${name}: says what happened`)
  const csp = await res?.headerValue('content-security-policy')
  t.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/, `${name}: strict CSP`)
  const html = await page.content()
  t.notMatch(html, /<script|src=|href="https?:/, `${name}: self-contained`)
  t.match(await page.textContent('.meta'), /request [0-9a-f]{10}/, `${name}: the request id, for support`)
  // Browser-side expressions as strings: the test project has no DOM types.
  const styled = await page.evaluate<string>('getComputedStyle(document.querySelector("main")).maxWidth')
  t.equal(styled, '544px', `${name}: the inline style applied under the CSP`)
  await page.screenshot({ path: join(ARTIFACTS, `error-${name}.png`), fullPage: true })
  await page.setViewportSize({ width: 375, height: 667 })
  t.ok(await page.evaluate<boolean>('document.documentElement.scrollWidth <= 375'), `${name}: fits a phone`)
  await page.screenshot({ path: join(ARTIFACTS, `error-${name}-phone.png`), fullPage: true })
  return page
}

t.test('the app is starting: a page that reloads by itself, into the app once it answers', async (t) => {
  const port = await freePort()
  const proxy = await startProxy({ UPSTREAM_URL: `http://127.0.0.1:${port}`, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
  const app: Server = createServer((_req, res) => { res.end('Hello from the app') })
  t.teardown(async () => { await proxy.close(); app.close() })
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: 'admin1041' } })
  const page = await look(t, context, `${proxy.url}/`, 'app-starting', { status: 503, title: /The app is starting/ })
  t.match(await page.textContent('main'), /reloads by itself in 2 seconds/)
  t.equal(await page.getAttribute('meta[http-equiv=refresh]', 'content'), '2', 'as Retry-After says')
  await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', resolve))
  // Polled from here: the page's CSP (rightly) forbids the evaluated script waitForFunction would use.
  let text = ''
  for (let i = 0; i < 80 && text !== 'Hello from the app'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    text = (await page.textContent('body').catch(() => '')) ?? ''
  }
  t.equal(text, 'Hello from the app', 'the page turned into the app by itself')
  await context.close()
})

t.test('the app is down: a page that tries again by itself; scripts get text and JSON as before', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
  t.teardown(async () => { await proxy.close() })
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status, 200, 'it answered once')
  await upstream.close()
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: 'admin1041' } })
  const page = await look(t, context, `${proxy.url}/`, 'app-down', { status: 502, title: /The app is not answering/ })
  t.equal(await page.getAttribute('meta[http-equiv=refresh]', 'content'), '10')
  await context.close()
  const text = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041') } })
  t.match(text.body, /^502 Upstream unavailable \(AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE, request [0-9a-f]+\)\n$/)
  const json = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', 'admin1041'), accept: 'application/json' } })
  t.match(JSON.parse(json.body), { statusCode: 502, code: 'AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE' })
})

t.test('too many failed sign-ins: when to try again', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '2' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (let i = 0; i < 2; i++) await send(`${proxy.url}/`, { headers: { authorization: basic('admin', `guess${i}`) } })
  // A browser that keeps sending the wrong password (as one does after a typo was saved).
  const context = await browser.newContext({ extraHTTPHeaders: { authorization: basic('admin', 'guess9') } })
  const page = await look(t, context, `${proxy.url}/`, 'too-many-failures', { status: 429, title: /Too many failed sign-ins/ })
  t.match(await page.textContent('main'), /Try again in \d+ seconds \(after \d\d:\d\d:\d\d UTC\)/)
  await context.close()
})

t.test('signed in but not allowed: as whom, and a sign-out link; the sign-in service unreachable', async (t) => {
  const port = await freePort()
  const provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
  const upstream = await startUpstream()
  const proxy: RunningProxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'error-pages-session-secret-0123456789ab', OIDC_ALLOWED_GROUPS: 'admins', OIDC_HEALTH_INTERVAL: '200ms'
  }, port)
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${proxy.url}/`)
  await page.fill('#username', 'bob')
  await page.fill('#password', USERS.bob?.password ?? '')
  const [answer] = await Promise.all([page.waitForResponse((r) => r.url().includes('/_auth/callback')), page.click('#sign-in')])
  t.equal(answer.status(), 403, 'bob is not in admins')
  t.match(await page.textContent('main'), /signed in as bob/)
  t.equal(await page.getAttribute('a', 'href'), '/_auth/logout', 'a way to sign out')
  await page.screenshot({ path: join(ARTIFACTS, 'error-forbidden.png'), fullPage: true })
  await look(t, context, answer.url(), 'login-failed', { status: 400, title: /Signing in did not complete/ }) // the same callback, replayed
  await provider.close()
  for (let i = 0; i < 50 && proxy.app.credentials.ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const fresh = await browser.newContext()
  await look(t, fresh, `${proxy.url}/`, 'signin-unreachable', { status: 503, title: /The sign-in service is unreachable/ })
  await fresh.close()
  await context.close()
})
