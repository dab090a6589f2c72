// Jupyter Notebook (Debian's jupyter-notebook 6.4) behind the real proxy process, in Chromium, at the root and
// under a base_url (/nb/): open with its token, a new notebook, a cell run on the kernel over its WebSocket, saved
// (an XSRF-checked PUT), reloaded with the output kept, the kernel reconnected; the tunnels logged when closed.
import t from 'tap'
import { appSession, tunnelLines } from '../helpers/app-browser.ts'
import { startJupyter } from '../helpers/apps.ts'

const TOKEN = 'jupyter-test-token-4f1c'

for (const base of ['/', '/nb/']) {
  t.test(`Jupyter at ${base}: new notebook, a cell over the kernel WebSocket, save, reload`, async (t) => {
    const jupyter = await startJupyter(TOKEN, base)
    t.teardown(async () => { await jupyter.stop() })
    const { proxy, context, page, shot } = await appSession(t, `jupyter${base === '/' ? '' : '-nb'}`, jupyter.url)

    // The token once, in the URL, as Jupyter prints it; Jupyter then keeps its own login cookie.
    await page.goto(`${proxy.url}${base}tree?token=${TOKEN}`)
    await page.waitForSelector('#notebook_list')
    await shot('1-tree')
    t.ok((await context.cookies(proxy.url)).some((c) => c.name === '_xsrf'), 'Jupyter set its XSRF cookie through the proxy')

    const [notebook] = await Promise.all([context.waitForEvent('page'), page.click('#new-dropdown-button').then(async () => { await page.click('a:has-text("Python 3")') })])
    await notebook.waitForSelector('.kernel_idle_icon', { timeout: 30_000 })
    t.pass('the kernel started and its WebSocket is connected')
    await notebook.click('.CodeMirror')
    await notebook.keyboard.type('print(6 * 7)')
    await notebook.keyboard.press('Shift+Enter')
    await notebook.waitForSelector('.output_area pre:has-text("42")', { timeout: 30_000 })
    t.pass('the cell ran on the kernel and its output came back')
    await notebook.keyboard.press('Control+s')
    await notebook.waitForSelector('#notification_notebook:has-text("Notebook saved")', { timeout: 15_000 }).catch(() => undefined)
    await notebook.screenshot({ path: `test-artifacts/apps/jupyter${base === '/' ? '' : '-nb'}-2-cell.png` })

    const saved = await notebook.evaluate<string>('fetch(location.pathname.replace("/notebooks/", "/api/contents/")).then((r) => r.text())')
    t.match(saved, /print\(6 \* 7\)/, 'saved with the cell (PUT with the XSRF token)')
    t.match(saved, /42/, 'and its output')

    await notebook.reload()
    await notebook.waitForSelector('.kernel_idle_icon', { timeout: 30_000 })
    t.match(await notebook.textContent('.output_area pre'), /42/, 'after a reload: the output kept, the kernel reconnected')
    await notebook.close()
    await page.close()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const lines = tunnelLines(proxy)
    t.ok(lines.length >= 1, `kernel WebSockets logged when they ended (${lines.length})`)
    t.ok(lines.every((l) => typeof l.path === 'string' && !l.path.includes('?') && l.user === 'admin'), 'without the query (it may carry the token)')
    t.notMatch(proxy.child.stdout, new RegExp(TOKEN), 'the token never in the proxy\'s log')
  })
}
