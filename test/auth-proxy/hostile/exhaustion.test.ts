// Resource exhaustion, against the real proxy process: slowloris on headers and bodies (Node CVE-2019-5737,
// CVE-2020-8251; Node checks its timeouts only every connectionsCheckingInterval), stalled uploads holding the
// app's connections so that everyone else starves, and idle tunnels. The limits are set short here to keep the
// suite fast; the defaults are the same mechanism with longer numbers (config.ts).
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { ALICE, raw, startTarget, until, WS_HANDSHAKE } from '../../helpers/hostile.ts'
import { exchange, openRaw } from '../../helpers/raw-client.ts'

const LIMITS = { CLIENT_HEADER_TIMEOUT: '2s', CLIENT_BODY_TIMEOUT: '2s', CLIENT_REQUEST_TIMEOUT: '4s', WEBSOCKET_IDLE_TIMEOUT: '1s' }
const { up, proxy } = await startTarget(t, LIMITS)
t.beforeEach(() => { up.reset() })

const lines = (n: number): string[] => Array.from({ length: n }, (_v, i) => `X-Slow-${i}: ${i}\r\n`)

t.test('slowloris-headers: one header line every 500 ms is cut at CLIENT_HEADER_TIMEOUT (+1 s), with 408', async (t) => {
  const res = await exchange(proxy.port, ['GET /pub HTTP/1.1\r\nHost: x\r\n', ...lines(40)], { gapMs: 500, idleMs: 2_000, timeoutMs: 10_000 })
  t.ok(res.closed, 'closed by the proxy')
  t.ok(res.elapsedMs >= 1_900 && res.elapsedMs <= 3_500, `after ${res.elapsedMs} ms`)
  t.same(res.statuses, [408])
  t.equal(up.seen.length, 0)
})

t.test('slowloris-body-idle: a body that stops is answered 408 after CLIENT_BODY_TIMEOUT, and the app never asked', async (t) => {
  const res = await exchange(proxy.port, raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 100'], 'only ten.'), { idleMs: 4_000, timeoutMs: 10_000 })
  t.same(res.statuses, [408])
  t.ok(res.elapsedMs >= 1_900 && res.elapsedMs <= 3_500, `after ${res.elapsedMs} ms`)
  t.equal(up.seen.length, 0, 'a small body is read whole before the app is asked')
})

t.test('slowloris-body-trickle: one byte every 300 ms never idles, but CLIENT_REQUEST_TIMEOUT (+1 s) ends it', async (t) => {
  const pieces = [raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 100000']), ...Array.from({ length: 40 }, () => 'x')]
  const res = await exchange(proxy.port, pieces, { gapMs: 300, idleMs: 3_000, timeoutMs: 12_000 })
  t.ok(res.closed)
  t.ok(res.elapsedMs >= 3_900 && res.elapsedMs <= 5_500, `after ${res.elapsedMs} ms`)
  t.same(res.statuses, [408])
})

t.test('slowloris-streamed-upload: a large upload that stalls mid-stream is cut after CLIENT_BODY_TIMEOUT and frees the app\'s connection', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 1000000'], 'y'.repeat(200_000)))
  const started = Date.now()
  t.ok(await until(() => socket.closed(), 5_000), 'closed')
  const elapsed = Date.now() - started
  t.ok(elapsed >= 1_900 && elapsed <= 3_500, `after ${elapsed} ms`)
  t.match(socket.received(), /^HTTP\/1\.1 408 /)
})

t.test('unauthenticated upload to a protected path: 401 at once, the body is never read, nothing reaches the app', async (t) => {
  const res = await exchange(proxy.port, raw('POST /priv HTTP/1.1', ['Host: x', 'Content-Length: 100000'], 'z'), { responses: 1 })
  t.same(res.statuses, [401])
  t.ok(res.elapsedMs < 1_000)
  t.equal(up.seen.length, 0)
})

t.test('websocket-idle: a tunnel with no traffic is ended after WEBSOCKET_IDLE_TIMEOUT with a Close frame 1001', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('GET /pub HTTP/1.1', ['Host: x', ...WS_HANDSHAKE]))
  t.ok(await until(() => socket.received().includes('\r\n\r\n')))
  const started = Date.now()
  t.ok(await until(() => socket.closed(), 4_000), 'closed')
  t.ok(Date.now() - started >= 900, 'not before the timeout')
  const frame = Buffer.from(socket.received().split('\r\n\r\n')[1] ?? '', 'latin1')
  t.same([...frame.subarray(0, 4)], [0x88, frame[1], 0x03, 0xe9], 'an unmasked Close frame with code 1001')
  t.ok(await until(() => up.openTunnels() === 0))
  t.ok(await until(() => proxy.logLines().some((l) => l.msg === 'websocket')), 'its log line (written by the child process, read through a pipe)')
  const line = proxy.logLines().find((l) => l.msg === 'websocket')
  t.equal(line?.closedBy, 'idle')
})

t.test('starvation: 200 stalled anonymous uploads to a public path, and an authenticated GET is still answered within a second', async (t) => {
  // Default limits here: the stalls must outlast the check.
  const target = await startTarget(t)
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  const opened = await Promise.all(Array.from({ length: 200 }, async (_v, i) => { await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: target.proxy.port }, () => {
      // 150 stream (past the 64 KiB read whole, so each holds a connection to the app — more than the pool's 128);
      // 50 trickle (held in the proxy's memory, nothing upstream).
      const sent = i < 150 ? 70_000 : 10
      s.write(raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 100000'], 'u'.repeat(sent)), () => { resolve() })
    })
    s.on('error', () => { resolve() })
    sockets.push(s)
  }); }))
  t.equal(opened.length, 200)
  await until(() => target.up.raw().length > 128 * 65_536, 5_000) // the app's pool is full of stalled uploads
  const started = Date.now()
  const res = await exchange(target.proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), { responses: 1, timeoutMs: 5_000 })
  const elapsed = Date.now() - started
  t.same(res.statuses, [200])
  t.ok(elapsed < 1_000, `answered in ${elapsed} ms`)
})
