// The scavenge that keeps large bodies from piling up as uncollected Buffers (the RSS effect itself is measured on
// the real process in big-bodies.test.ts): it runs once per RECLAIM_EVERY_BYTES, and exposing gc() for it leaves
// no gc() behind in the application's global scope.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { BodyReclaimer, RECLAIM_EVERY_BYTES } from '../../../services/auth-proxy/src/proxy/body-reclaim.ts'

t.test('one scavenge per RECLAIM_EVERY_BYTES of body, counted from streams and from response chunks', async (t) => {
  const reclaim = new BodyReclaimer()
  reclaim.add(RECLAIM_EVERY_BYTES - 1)
  t.equal(reclaim.runs, 0, 'not before the threshold')
  reclaim.add(1)
  t.equal(reclaim.runs, 1, 'at the threshold')
  const body = new PassThrough()
  const consumed: number[] = []
  body.on('data', (c: Buffer) => { consumed.push(c.length) }) // the consumer (undici in the proxy)
  reclaim.track(body)
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < 2 * RECLAIM_EVERY_BYTES / chunk.length; i++) body.write(chunk)
  body.end()
  await new Promise((resolve) => body.once('end', resolve))
  t.equal(reclaim.runs, 3, 'two more from the streamed body')
  t.equal(consumed.length, 2 * RECLAIM_EVERY_BYTES / chunk.length, 'the consumer still got every chunk')
})

t.test('gc() is not left exposed to the application', async (t) => {
  t.equal((globalThis as { gc?: unknown }).gc, undefined, 'not exposed before (tap runs without --expose-gc)')
  const reclaim = new BodyReclaimer()
  reclaim.add(RECLAIM_EVERY_BYTES)
  t.equal(reclaim.runs, 1)
  t.equal((globalThis as { gc?: unknown }).gc, undefined, 'nor after')
})
