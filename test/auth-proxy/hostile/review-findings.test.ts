// Regressions from the adversarial review of the one-path change, each named after what it pinned: a crash from a
// pipelined upgrade, sockets held after an answer on the upgrade path, a keep-alive connection left hanging by an
// early answer to an upload, a parser error answered in place of a pending response, requests abandoned without a
// log line, a 304 with Content-Length cut, a handshake whose client left unnoticed, pipelined requests reordered,
// Expect variants, and headers of other proxies passed on.
import { connect } from 'node:net'
import t from 'tap'
import { ALICE, raw, startTarget, until, WS_HANDSHAKE } from '../../helpers/hostile.ts'
import { exchange, openRaw } from '../../helpers/raw-client.ts'

const { up, proxy } = await startTarget(t)
t.beforeEach(async () => { await new Promise((resolve) => setTimeout(resolve, 50)); up.reset() })

async function alive (): Promise<boolean> {
  const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', ['Host: x']), { responses: 1 })
  return res.statuses[0] === 200 && proxy.child.process.exitCode === null
}

t.test('pipelined-upgrade-crash: a CONNECT or a WebSocket handshake pipelined behind a pending answer does not kill the process', async (t) => {
  for (const second of [raw('CONNECT x:443 HTTP/1.1', ['Host: x:443']), raw('GET /ws HTTP/1.1', ['Host: x', ...WS_HANDSHAKE])]) {
    for (const first of [raw('GET /slow HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), raw('GET /priv HTTP/1.1', ['Host: x'])]) {
      const res = await exchange(proxy.port, first + second, { idleMs: 800 })
      t.ok(res.statuses.length >= 1, `answered ${res.statuses.join(',')}`)
      t.notOk(res.statuses.includes(101), 'no tunnel opened behind another answer')
    }
  }
  t.ok(await alive(), 'still serving')
})

t.test('detached-socket-held-open: answers on the upgrade path close the connection even if the client keeps it', async (t) => {
  const sockets = await Promise.all(Array.from({ length: 20 }, async () => await openRaw(proxy.port)))
  for (const s of sockets) s.write(raw('GET /priv HTTP/1.1', ['Host: x', ...WS_HANDSHAKE]))
  t.ok(await until(() => sockets.every((s) => s.closed()), 3_000), `closed by the proxy: ${sockets.filter((s) => s.closed()).length}/20`)
  t.ok(sockets.every((s) => s.received().startsWith('HTTP/1.1 401 ')))
})

t.test('early-answer-to-upload: an app refusing an upload unread ends the connection instead of leaving it to hang', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('POST /reject-upload HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, 'Content-Length: 2000000'], 'a'.repeat(200_000)))
  t.ok(await until(() => socket.received().includes('too large'), 3_000), 'the app\'s 413 reaches the client')
  t.match(socket.received(), /^HTTP\/1\.1 413 /)
  t.match(socket.received(), /connection: close/i)
  t.ok(await until(() => socket.closed(), 3_000), 'and the connection closes, not held until CLIENT_REQUEST_TIMEOUT')
})

t.test('pipelined-garbage-after-post: the pending POST gets its own answer, then the connection closes', async (t) => {
  const res = await exchange(proxy.port, raw('POST /slow HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, 'Content-Length: 3', 'Content-Type: text/plain'], 'abc') + 'GARBAGE\r\n\r\n', { idleMs: 1_000 })
  t.same(res.statuses, [200], 'the app\'s answer to the POST, not a 400 in its place')
  t.match(res.text, /seen POST \/slow/)
  t.ok(res.closed)
  t.same(up.seen.map((s) => s.url), ['/slow'])
})

t.test('client-closed-logged: a request whose client leaves before the answer still gets its log line (499)', async (t) => {
  const socket = connect(proxy.port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write(raw('GET /slow HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]))
  await new Promise((resolve) => setTimeout(resolve, 100))
  socket.destroy()
  t.ok(await until(() => proxy.logLines().some((l) => l.path === '/slow' && l.status === 499)), 'logged with 499')
  t.match(proxy.logLines().find((l) => l.status === 499), { user: 'alice', aborted: 'client closed' })
})

t.test('bodiless-304-with-content-length: the 304 reaches the client (RFC 9110 §15.4.5), not a cut connection', async (t) => {
  const res = await exchange(proxy.port, raw('GET /304cl HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), { responses: 1 })
  t.same(res.statuses, [304])
  t.match(res.text, /etag: "x"/i)
})

t.test('handshake-client-fin: a client that leaves before the app answered its handshake leaves nothing open', async (t) => {
  up.upgradeMode = 'hang'
  const socket = connect(proxy.port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(raw('GET /pub HTTP/1.1', ['Host: x', ...WS_HANDSHAKE]))
  t.ok(await until(() => up.openTunnels() === 1), 'the handshake reached the app')
  socket.end() // FIN, no reset
  t.ok(await until(() => up.openTunnels() === 0, 2_000), 'the app-side connection closed at once, not after UPSTREAM_TIMEOUT')
})

t.test('pipelined-order: a DELETE and the GET behind it reach the app in order (RFC 9112 §9.3.2)', async (t) => {
  const res = await exchange(proxy.port, raw('DELETE /slow HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]) + raw('GET /after HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), { responses: 2 })
  t.same(res.statuses, [200, 200])
  t.same(up.seen.map((s) => `${s.method} ${s.url}`), ['DELETE /slow', 'GET /after'], 'the GET only once the DELETE was answered')
})

t.test('expect-continue variants: "100-continue, foo" gets its 100 once authenticated, as Node routed it', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('POST /pub HTTP/1.1', ['Host: x', 'Expect: 100-continue, foo', 'Content-Length: 4', 'Content-Type: text/plain']))
  t.ok(await until(() => socket.received().includes('100 Continue')), '100 Continue')
  socket.write('body')
  t.ok(await until(() => socket.received().includes('seen POST /pub')))
})

t.test('other-proxies-fields: URL overrides and other auth proxies\' identity fields never reach the app; router-only ones not from strangers', async (t) => {
  const fields = ['X-Original-URL: /admin', 'X-Rewrite-URL: /admin', 'X-Original-URI: /admin', 'X-Forwarded-Uri: /admin', 'Remote-User: admin',
    'X-Auth-Request-User: admin', 'X-Auth-Request-Email: a@evil', 'X-Forwarded-Preferred-Username: admin', 'X-Forwarded-Prefix: /evil', 'X-Forwarded-Port: 1', 'Front-End-Https: on']
  const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', ['Host: x', ...fields]), { responses: 1 })
  t.same(res.statuses, [200])
  t.notMatch(up.raw(), /admin|evil|front-end-https|x-forwarded-port/i)
})
