// The two logins in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser),
// in front of the real hello app. Screenshots of every step go to test-artifacts/browser/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp as buildHello } from '../../services/hello/src/app.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../helpers/oidc-provider.ts'
import { ROOT } from '../helpers/process.ts'
import { requestLines, startProxy } from '../helpers/proxy.ts'
import { htpasswdLine, tempDir } from '../helpers/htpasswd.ts'
import { freePort } from '../helpers/upstream.ts'

/** Debian's chromium package; CHROMIUM_PATH overrides it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser')

let browser: Browser
let hello: ReturnType<typeof buildHello>
let helloUrl: string

t.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  hello = buildHello({ host: '127.0.0.1', port: 0, logLevel: 'silent' })
  await hello.listen({ host: '127.0.0.1', port: 0 })
  const address = hello.server.address()
  helloUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
})
t.teardown(async () => {
  await browser.close()
  await hello.close()
})

async function shot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

t.test('Basic: the 401 challenge, then credentials, then Hello World', async (t) => {
  const dir = tempDir()
  const proxy = await startProxy({ UPSTREAM_URL: helloUrl, HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('admin', 'admin1041')) })
  t.teardown(async () => { await proxy.close(); dir.remove() })

  const anonymous = await browser.newContext()
  const page = await anonymous.newPage()
  // With no credentials to offer, headless Chromium abandons the navigation after the challenge; the 401 and
  // its WWW-Authenticate are still seen on the wire.
  const response = page.waitForResponse(`${proxy.url}/`)
  await page.goto(`${proxy.url}/`).catch(() => undefined)
  const challenged = await response
  t.equal(challenged.status(), 401, 'no credentials: 401')
  t.equal(await challenged.headerValue('www-authenticate'), 'Basic realm="Restricted", charset="UTF-8"', 'the browser is asked for credentials')
  await shot(page, '01-basic-challenge')
  await anonymous.close()

  const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'wrong' } })
  // Chromium sends the credentials once; refused again, it gives up rather than loop.
  const wrongPage = await wrong.newPage()
  await wrongPage.goto(`${proxy.url}/`).catch(() => undefined)
  t.ok(requestLines(proxy).some((l) => l.status === 401 && l.auth === 'invalid'), 'the browser\'s wrong password was refused (401, auth: invalid)')
  t.not((await wrongPage.textContent('body').catch(() => ''))?.trim(), 'Hello World')
  await wrong.close()

  const user = await browser.newContext({ httpCredentials: { username: 'admin', password: 'admin1041' } })
  const loggedIn = await user.newPage()
  const res = await loggedIn.goto(`${proxy.url}/`)
  t.equal(res?.status(), 200)
  t.equal((await loggedIn.textContent('body'))?.trim(), 'Hello World')
  await shot(loggedIn, '02-basic-hello-world')
  await user.close()
})

t.test('OpenID Connect: page → provider login form → back on the page with Hello World → logout', async (t) => {
  const port = await freePort()
  let provider: TestProvider | undefined
  provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [`http://127.0.0.1:${port}/`] })
  const proxy = await startProxy({
    UPSTREAM_URL: helloUrl, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'browser-test-session-secret-0123456789ab'
  }, port)
  t.teardown(async () => { await proxy.close(); await provider?.close(); provider = undefined })

  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${proxy.url}/?from=browser`)
  t.match(page.url(), new RegExp(`^${provider.issuer}/interaction/`), 'on the provider\'s login form')
  await shot(page, '03-oidc-provider-login')

  await page.fill('#username', 'alice')
  await page.fill('#password', USERS.alice?.password ?? '')
  await Promise.all([page.waitForURL(`${proxy.url}/?from=browser`), page.click('#sign-in')])
  t.equal(page.url(), `${proxy.url}/?from=browser`, 'back on the page it asked for')
  t.equal((await page.textContent('body'))?.trim(), 'Hello World')
  await shot(page, '04-oidc-hello-world')

  const session = (await context.cookies(proxy.url)).find((c) => c.name === '_auth_proxy')
  t.ok(session, 'a session cookie')
  t.equal(session?.httpOnly, true, 'HttpOnly')
  t.equal(session?.sameSite, 'Lax', 'SameSite=Lax')
  t.ok((session?.value.length ?? 0) < 4000, `fits one cookie (${session?.value.length ?? 0} bytes)`)

  await page.goto(`${proxy.url}/_auth/logout`)
  await shot(page, '05-logout-form')
  await Promise.all([page.waitForURL(new RegExp(`^${provider.issuer}/`)), page.click('button[type=submit]')])
  await shot(page, '06-provider-logout')
  await Promise.all([page.waitForURL(new RegExp(`^${provider.issuer}/interaction/`)), page.click('#confirm-logout')])
  t.match(page.url(), new RegExp(`^${provider.issuer}/interaction/`), 'logged out at both: the next visit asks for a password again')
  await shot(page, '07-after-logout')
  t.notOk((await context.cookies(proxy.url)).some((c) => c.name === '_auth_proxy'), 'the session cookie is gone')
  await context.close()
})
