// TiddlyWiki (the npm registry's tiddlywiki, a Node.js app) behind the real proxy process, in Chromium, with its
// server told to trust the proxy's user header (authenticated-user-header): a new tiddler written and saved
// (TiddlyWiki's PUT carries its own anti-CSRF header), stored on disk as modified by the proxy's user, and there
// after a reload. Without the proxy's login, nothing of the wiki is reachable.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { appSession } from '../helpers/app-browser.ts'
import { startTiddlyWiki } from '../helpers/apps.ts'
import { send } from '../helpers/http.ts'

t.test('TiddlyWiki: a tiddler written, saved as the proxy\'s user, there after a reload', async (t) => {
  const wiki = await startTiddlyWiki()
  t.teardown(async () => { await wiki.stop() })
  const { proxy, page, shot } = await appSession(t, 'tiddlywiki', wiki.url)
  await page.goto(`${proxy.url}/`)
  await page.waitForSelector('.tc-page-container', { timeout: 30_000 })
  await page.click('button[aria-label="new tiddler"]')
  const title = page.locator('input.tc-titlebar.tc-edit-texteditor')
  await title.fill('Written through the proxy')
  // The body's editor sits in an iframe of its own (TiddlyWiki's framed editor).
  await page.locator('.tc-tiddler-editor iframe').first().contentFrame().locator('textarea').fill('Saved by the one behind the sidecar.')
  await shot('1-editing')
  await page.click('button[aria-label="Confirm changes to this tiddler"]')
  const stored = join(wiki.dir.path, 'wiki', 'tiddlers')
  let file: string | undefined
  for (let i = 0; i < 100 && file === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    file = readdirSync(stored).find((f) => f.startsWith('Written through the proxy'))
  }
  t.ok(file, 'saved to the wiki\'s folder by its server (PUT through the proxy)')
  t.match(readFileSync(join(stored, file ?? ''), 'utf8'), /modifier: admin/, 'as the user the proxy vouched for')
  await page.reload()
  await page.waitForSelector('.tc-page-container', { timeout: 30_000 })
  t.match(await page.textContent('body'), /Written through the proxy/, 'there after a reload')
  await shot('2-saved')
  t.equal((await send(`${proxy.url}/`)).status, 401, 'without the proxy\'s login: nothing')
  t.equal((await send(`${proxy.url}/recipes/default/tiddlers.json`, { headers: { 'x-forwarded-user': 'admin' } })).status, 401, 'and a forged user header does not help')
})
