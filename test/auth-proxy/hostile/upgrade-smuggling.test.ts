// Upgrade smuggling, against the real proxy process: h2c (BishopFox h2csmuggler), WebSocket smuggling
// (0ang3el/websocket-smuggle: a tunnel opened before or despite the app's answer), an Upgrade header Node does
// not take as an upgrade (the finding that started this suite), and 101s the app was not asked for.
import t, { type Test } from 'tap'
import { ALICE, folded, raw, startTarget, until, valuesSeen, WS_HANDSHAKE, WS_KEY } from '../../helpers/hostile.ts'
import { exchange, openRaw } from '../../helpers/raw-client.ts'

const target = await startTarget(t)
const { up, proxy } = target
t.beforeEach(() => { up.reset() })

const SPOOF = ['X-Forwarded-User: admin', 'X_Forwarded_User: admin', 'X.Forwarded.User: admin', 'X-Forwarded-Groups: admins']

function noForgery (t: Test, expectedUser: string | undefined): void {
  for (const seen of up.seen) {
    t.same(valuesSeen(seen, (n) => folded(n) === 'x-forwarded-user'), expectedUser === undefined ? [] : [expectedUser], `${seen.url}: only the proxy's user header`)
    t.same(valuesSeen(seen, (n) => folded(n) === 'x-forwarded-groups'), [], `${seen.url}: no forged groups`)
    t.equal(seen.headers.authorization, undefined, `${seen.url}: no Authorization`)
  }
}

t.test('upgrade-nbsp-connection: Upgrade: foo + "Connection: upgrade<NBSP>" is an ordinary request under the ordinary header rules', async (t) => {
  const res = await exchange(proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, 'Upgrade: foo', 'Connection: upgrade\u00a0', ...SPOOF]), { responses: 1 })
  t.same(res.statuses, [200])
  t.equal(up.seen.length, 1)
  noForgery(t, 'alice')
  t.equal(up.seen[0]?.headers.upgrade, undefined, 'Upgrade removed (hop-by-hop)')
})

t.test('upgrade-nbsp-connection on a public path: no credentials needed, and no identity forged either', async (t) => {
  const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', ['Host: x', 'Upgrade: foo', 'Connection: upgrade\u00a0', ...SPOOF]), { responses: 1 })
  t.same(res.statuses, [200])
  noForgery(t, undefined)
})

t.test('upgrade-nbsp-connection on a protected path without credentials: 401, nothing reaches the app', async (t) => {
  const res = await exchange(proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', 'Upgrade: websocket', 'Connection: upgrade\u00a0', ...SPOOF]), { responses: 1 })
  t.same(res.statuses, [401])
  t.equal(up.seen.length, 0)
})

t.test('h2c-smuggling: Upgrade: h2c is never switched; the app gets an HTTP/1.1 request without Upgrade or HTTP2-Settings', async (t) => {
  const h2c = ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']
  const res = await exchange(proxy.port, [
    raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...h2c, ...SPOOF]),
    raw('GET /second HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`])
  ], { gapMs: 100 })
  t.same(res.statuses, [200], 'an HTTP/1.1 answer, no 101')
  t.match(res.text, /connection: close/i, 'and the connection ends: Node drops what was pipelined behind a declined upgrade')
  t.ok(res.closed)
  t.same(up.seen.map((s) => s.url), ['/priv'], 'nothing else on that connection')
  t.equal(up.seen[0]?.headers.upgrade, undefined)
  t.equal(up.seen[0]?.headers['http2-settings'], undefined)
  noForgery(t, 'alice')
})

t.test('h2c-smuggling without credentials: 401, nothing reaches the app', async (t) => {
  const res = await exchange(proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', 'Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']), { responses: 1 })
  t.same(res.statuses, [401])
  t.equal(up.seen.length, 0)
})

t.test('websocket-unauthenticated: 401, the connection closes, bytes sent after it never reach the app', async (t) => {
  const res = await exchange(proxy.port, [
    raw('GET /priv HTTP/1.1', ['Host: x', ...WS_HANDSHAKE]),
    raw('GET /smuggled HTTP/1.1', ['Host: x'])
  ], { gapMs: 50 })
  t.same(res.statuses, [401])
  t.ok(res.closed, 'closed after the answer')
  t.equal(up.seen.length, 0)
  t.notMatch(up.raw(), /smuggled/)
})

t.test('websocket-smuggling via a refused upgrade (426): the refusal is relayed and the next bytes never reach the app', async (t) => {
  up.upgradeMode = 'refuse-426'
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 1', `Sec-WebSocket-Key: ${WS_KEY}`]))
  t.ok(await until(() => socket.received().includes('version')), 'the app\'s answer arrives')
  t.match(socket.received(), /^HTTP\/1\.1 426 /, 'the app\'s own status')
  t.match(socket.received(), /sec-websocket-version: 13/i, 'and its headers')
  socket.write(raw('GET /smuggled HTTP/1.1', ['Host: x', 'X-Forwarded-User: admin']))
  t.ok(await until(() => socket.closed()), 'the connection closes after the refusal')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notMatch(up.raw(), /smuggled/, 'nothing after the refusal went to the app')
  t.same(up.seen.map((s) => s.url), ['/priv'])
})

t.test('websocket refusal relayed: the app\'s 404 and its body reach the client (Jupyter: unknown kernel)', async (t) => {
  up.upgradeMode = 'refuse-404'
  const res = await exchange(proxy.port, raw('GET /api/kernels/nope/channels HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]))
  t.same(res.statuses, [404])
  t.match(res.text, /no such kernel$/)
  t.ok(res.closed)
})

t.test('websocket accepted: the app\'s 101 with its Sec-WebSocket-Accept, then bytes both ways; identity rewritten', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  socket.write(raw('GET /ws?token=secret HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE, ...SPOOF]))
  t.ok(await until(() => socket.received().includes('\r\n\r\n')))
  t.match(socket.received(), /^HTTP\/1\.1 101 Switching Protocols\r\n/)
  t.match(socket.received(), /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i, 'RFC 6455\'s own example key and accept')
  socket.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]))
  t.ok(await until(() => up.tunnelBytes === 8), 'the frame reached the app')
  t.equal(up.seen[0]?.url, '/ws?token=secret', 'path and query verbatim')
  t.equal(up.seen[0]?.headers['sec-websocket-key'], WS_KEY, 'the client\'s own handshake, not one the proxy made')
  noForgery(t, 'alice')
})

t.test('websocket on a public path: tunnelled without credentials, identity fields stripped', async (t) => {
  const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', ['Host: x', ...WS_HANDSHAKE, ...SPOOF]), { responses: 1 })
  t.same(res.statuses, [101])
  noForgery(t, undefined)
})

t.test('websocket-fake-101: a 101 that does not answer the client\'s key (wrong Accept) is a 502, no tunnel', async (t) => {
  up.upgradeMode = 'wrong-accept'
  const res = await exchange(proxy.port, raw('GET /ws HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]))
  t.same(res.statuses, [502])
  t.ok(res.closed)
})

t.test('websocket-fake-101: a 101 switching to h2c instead of websocket is a 502', async (t) => {
  up.upgradeMode = 'h2c-101'
  const res = await exchange(proxy.port, raw('GET /ws HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]))
  t.same(res.statuses, [502])
})

t.test('unrequested-101: an app answering an ordinary request with 101 gets no tunnel; the client gets 502', async (t) => {
  up.fake101Next = true
  const res = await exchange(proxy.port, raw('GET /plain HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), { responses: 1 })
  t.same(res.statuses, [502])
  t.notMatch(res.text, /101/)
})

t.test('websocket-early-frames: bytes sent before the app answered reach it only after its 101', async (t) => {
  const socket = await openRaw(proxy.port)
  t.teardown(() => { socket.close() })
  // Handshake and a first (masked, empty) frame in one write.
  socket.write(Buffer.concat([Buffer.from(raw('GET /ws HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]), 'latin1'), Buffer.from([0x81, 0x80, 9, 9, 9, 9])]))
  t.ok(await until(() => up.tunnelBytes === 6), 'delivered as tunnel bytes after the switch')
  t.equal(up.seen.length, 1, 'and never parsed as HTTP')
})

t.test('websocket-early-frames on a refused upgrade: an HTTP request pipelined behind the handshake is dropped', async (t) => {
  up.upgradeMode = 'refuse-426'
  const res = await exchange(proxy.port, raw('GET /ws HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]) + raw('GET /smuggled HTTP/1.1', ['Host: x']))
  t.same(res.statuses, [426])
  t.ok(res.closed)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notMatch(up.raw(), /smuggled/)
})

for (const [name, requestLine, headers] of [
  ['websocket handshake with a body', 'GET /pub HTTP/1.1', [...WS_HANDSHAKE, 'Content-Length: 5']],
  ['websocket handshake with POST', 'POST /pub HTTP/1.1', [...WS_HANDSHAKE, 'Content-Length: 5']],
  ['websocket handshake over HTTP/1.0', 'GET /pub HTTP/1.0', [...WS_HANDSHAKE, 'Content-Length: 5']],
  ['two Upgrade values', 'GET /pub HTTP/1.1', [...WS_HANDSHAKE, 'Upgrade: h2c', 'Content-Length: 5']],
  ['Upgrade without the Connection token', 'GET /pub HTTP/1.1', ['Upgrade: websocket', 'Connection: keep-alive', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${WS_KEY}`, 'Content-Length: 5']]
] as const) {
  t.test(`not-an-upgrade (${name}): an ordinary request, no Upgrade and no handshake fields to the app`, async (t) => {
    const res = await exchange(proxy.port, raw(requestLine, ['Host: x', ...headers], 'hello'), { responses: 1 })
    t.same(res.statuses, [200])
    t.equal(up.seen.length, 1)
    t.equal(up.seen[0]?.upgrade, false)
    t.equal(up.seen[0]?.headers.upgrade, undefined)
    t.equal(up.seen[0]?.headers['sec-websocket-key'], undefined)
    t.equal(up.seen[0]?.body, 'hello')
  })
}

t.test('a client that closes right after its handshake leaves no connection open at the app', async (t) => {
  for (let i = 0; i < 5; i++) {
    const socket = await openRaw(proxy.port)
    socket.write(raw('GET /ws HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, ...WS_HANDSHAKE]))
    if (i % 2 === 0) await until(() => socket.received().includes('101'))
    socket.close()
  }
  t.ok(await until(() => up.openTunnels() === 0, 5_000), `open at the app: ${up.openTunnels()}`)
  const lines = proxy.logLines().filter((l) => l.msg === 'websocket')
  t.ok(lines.length >= 3, 'each tunnel logged when it ended')
})
