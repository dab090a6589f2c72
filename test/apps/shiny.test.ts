// Shiny (Debian's r-cran-shiny) behind the real proxy process, in Chromium: the slider moved, its value sent over
// Shiny's WebSocket and the doubled result sent back; a reload reconnects; closing the page ends the tunnel.
import t from 'tap'
import { appSession, tunnelLines } from '../helpers/app-browser.ts'
import { startShiny } from '../helpers/apps.ts'

t.test('Shiny: slider → output over the WebSocket, reload, close', async (t) => {
  const shiny = await startShiny()
  t.teardown(async () => { await shiny.stop() })
  const { proxy, page, shot } = await appSession(t, 'shiny', shiny.url)

  await page.goto(`${proxy.url}/`)
  await page.waitForSelector('#doubled:has-text("Doubled: 20")', { timeout: 20_000 })
  t.pass('the first value came back over the WebSocket')
  await shot('1-loaded')
  // Dragged as a person would: the handle, a third of the way along.
  const handle = await page.locator('.irs-handle').boundingBox()
  const track = await page.locator('.irs-line').boundingBox()
  if (handle === null || track === null) throw new Error('no slider')
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2)
  await page.mouse.down()
  await page.mouse.move(track.x + track.width / 3, handle.y + handle.height / 2, { steps: 10 })
  await page.mouse.up()
  let shown = ''
  let value = Number.NaN
  for (let i = 0; i < 100; i++) {
    value = Number(await page.textContent('.irs-single'))
    shown = (await page.textContent('#doubled')) ?? ''
    if (value !== 10 && shown === `Doubled: ${value * 2}`) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.not(value, 10, `the slider moved (to ${value})`)
  t.equal(shown, `Doubled: ${value * 2}`, 'its new value went to R and the doubled result came back')
  await shot('2-moved')

  await page.reload()
  await page.waitForSelector('#doubled:has-text("Doubled: 20")', { timeout: 20_000 })
  t.pass('a reload gets a new session')
  await page.close()
  for (let i = 0; i < 50 && tunnelLines(proxy).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const lines = tunnelLines(proxy)
  t.ok(lines.length >= 2, `both Shiny sessions' tunnels logged when they ended (${lines.length})`)
  t.ok(lines.every((l) => Number(l.messagesIn) > 0 && Number(l.messagesOut) > 0), 'messages went both ways')
})
