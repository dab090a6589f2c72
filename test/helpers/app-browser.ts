// Chromium (Debian's, through playwright-core) in front of a real app behind the real proxy process, logged in with
// the demo credentials as a person would be — the browser's own Basic prompt answered — with screenshots of each
// step in test-artifacts/apps/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { DEMO_PASSWORD, DEMO_USER } from './demo.ts'
import { ROOT } from './process.ts'
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts', 'apps')

export interface AppSession {
  readonly proxy: ProxyProcess
  readonly browser: Browser
  readonly context: BrowserContext
  readonly page: Page
  shot (name: string): Promise<void>
}

/** The proxy process (demo htpasswd) in front of `upstreamUrl`, and a logged-in browser; all closed at teardown. */
export async function appSession (t: Test, app: string, upstreamUrl: string, env: Record<string, string> = {}): Promise<AppSession> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const proxy = await startProxyProcess({ UPSTREAM_URL: upstreamUrl, HTPASSWD_FILE: join(ROOT, 'demo', 'htpasswd'), ...env })
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  const context = await browser.newContext({ httpCredentials: { username: DEMO_USER, password: DEMO_PASSWORD }, viewport: { width: 1200, height: 800 } })
  const page = await context.newPage()
  t.teardown(async () => { await browser.close(); await proxy.stop() })
  return {
    proxy, browser, context, page,
    shot: async (name) => { await page.screenshot({ path: join(ARTIFACTS, `${app}-${name}.png`) }) }
  }
}

/** The proxy's request and tunnel log lines, for what the app's traffic looked like. */
export function tunnelLines (proxy: ProxyProcess): Array<Record<string, unknown>> {
  return proxy.logLines().filter((l) => l.msg === 'websocket')
}
