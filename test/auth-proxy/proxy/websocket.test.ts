// WebSockets (Jupyter kernels, Streamlit, Shiny): authenticated exactly like other requests, the handshake passed
// to the app, the app's own answer relayed — its 101 (subprotocol, extensions) or its refusal — and then bytes
// both ways with Origin, subprotocols and the query string intact, closed cleanly from either side, logged once.
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocket, WebSocketServer } from 'ws'
import { basic } from '../../helpers/http.ts'
import { requestLines, startProxy, type RunningProxy } from '../../helpers/proxy.ts'

const AUTH = basic('admin', 'admin1041')

interface EchoUpstream { url: string, handshakes: IncomingMessage[], closes: number[], sockets: WebSocket[], wss: WebSocketServer, close: () => Promise<void> }

async function echoUpstream (): Promise<EchoUpstream> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: true,
    handleProtocols: (protocols) => protocols.has('jupyter.v1') ? 'jupyter.v1' : false,
    // Like Jupyter for an unknown kernel: the app itself refuses the handshake.
    verifyClient: (info, done) => { if (info.req.url?.startsWith('/api/kernels/gone') === true) done(false, 404, 'Kernel does not exist'); else done(true) }
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  const up: EchoUpstream = {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    handshakes: [],
    closes: [],
    sockets: [],
    wss,
    close: async () => { for (const c of wss.clients) c.terminate(); await new Promise((resolve) => { wss.close(resolve); }) }
  }
  wss.on('connection', (socket, req) => {
    up.handshakes.push(req)
    up.sockets.push(socket)
    socket.on('message', (data, binary) => { socket.send(data, { binary }) })
    socket.on('close', (code) => { up.closes.push(code) })
  })
  return up
}

async function connect (proxy: RunningProxy, path: string, headers: Record<string, string>, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}${path}`, protocols, { headers })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`unexpected ${res.statusCode ?? 0}`)) })
    ws.once('error', reject)
  })
  return ws
}

let upstream: EchoUpstream
let proxy: RunningProxy
t.beforeEach(async () => {
  upstream = await echoUpstream()
  proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
})
t.afterEach(async () => { await proxy.close(); await upstream.close() })

t.test('no credentials: 401 with the Basic challenge, no upgrade, nothing reaches the app', async (t) => {
  await t.rejects(connect(proxy, '/api/kernels/1/channels', {}), /unexpected 401/)
  await t.rejects(connect(proxy, '/x', { authorization: basic('admin', 'nope') }), /unexpected 401/)
  t.equal(upstream.handshakes.length, 0)
})

t.test('authenticated: messages relayed both ways, text and binary', async (t) => {
  const ws = await connect(proxy, '/echo', { authorization: AUTH })
  const replies: Array<{ data: string, binary: boolean }> = []
  const got = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer, binary) => { replies.push({ data: data.toString('hex'), binary }); if (replies.length === 2) resolve() })
  })
  ws.send('hello')
  ws.send(Buffer.from([0, 1, 2, 255]))
  await got
  t.same(replies, [{ data: Buffer.from('hello').toString('hex'), binary: false }, { data: '000102ff', binary: true }])
  ws.close()
})

t.test('Origin, subprotocol, query string, cookies and the user header reach the app; forged identity does not', async (t) => {
  const ws = await connect(proxy, '/api/kernels/1/channels?session_id=abc&token=x%20y', {
    authorization: AUTH, origin: 'https://hello.apps.example.org', cookie: '_xsrf=1', 'x-forwarded-user': 'root', x_forwarded_user: 'root'
  }, ['jupyter.v1'])
  t.equal(ws.protocol, 'jupyter.v1', 'the subprotocol the app chose')
  t.equal(ws.extensions, 'permessage-deflate', 'and the extension it accepted: the handshake is the app\'s own')
  const h = upstream.handshakes[0]
  t.equal(h?.url, '/api/kernels/1/channels?session_id=abc&token=x%20y')
  t.equal(h?.headers.origin, 'https://hello.apps.example.org')
  t.equal(h?.headers['sec-websocket-protocol'], 'jupyter.v1')
  t.equal(h?.headers.cookie, '_xsrf=1')
  t.equal(h?.headers['x-forwarded-user'], 'admin')
  t.equal(h?.headers.authorization, undefined, 'the password stays at the proxy')
  t.equal(h?.headers.host, new URL(proxy.url).host, 'Host passed through')
  const userLike = (h?.rawHeaders ?? []).filter((_v, i, a) => i % 2 === 0 && a[i]?.toLowerCase().replaceAll('_', '-') === 'x-forwarded-user')
  t.equal(userLike.length, 1, 'no forged copy in any spelling')
  ws.close()
})

t.test('closed by the client: the app sees the close', async (t) => {
  const ws = await connect(proxy, '/echo', { authorization: AUTH })
  await new Promise((resolve) => setTimeout(resolve, 50))
  ws.close(4000, 'bye')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(upstream.closes, [4000])
  t.equal(proxy.app.tunnels.size, 0, 'no longer tracked')
})

t.test('closed by the app: the client sees the close', async (t) => {
  const ws = await connect(proxy, '/echo', { authorization: AUTH })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(proxy.app.tunnels.size, 1, 'tracked while open')
  const closed = new Promise<number>((resolve) => ws.once('close', resolve))
  upstream.sockets[0]?.close(4001, 'done')
  t.equal(await closed, 4001)
})

t.test('the upgrade request goes through the path guard too', async (t) => {
  // Raw request: the ws client would normalise %2e%2e away before sending.
  const { request } = await import('node:http')
  const { port } = new URL(proxy.url)
  const status = await new Promise<number>((resolve, reject) => {
    request({
      host: '127.0.0.1', port, path: '/a/%2e%2e/admin', agent: false,
      headers: { authorization: AUTH, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
    }).on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      .on('upgrade', () => { resolve(101) })
      .on('error', reject).end()
  })
  t.equal(status, 400)
  t.equal(upstream.handshakes.length, 0)
})

t.test('refused by the app: the client gets the app\'s status and body, and no socket opens', async (t) => {
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/api/kernels/gone/channels`, { headers: { authorization: AUTH } })
  const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    ws.once('open', () => { reject(new Error('opened')) })
  })
  t.same(answer, { status: 404, body: 'Kernel does not exist' })
  t.equal(proxy.app.tunnels.size, 0)
  const line = requestLines(proxy).at(-1)
  t.equal(line?.status, 404, 'logged as the request it was')
})

t.test('closed by the client right after it opened: nothing stays open at the app', async (t) => {
  for (let i = 0; i < 5; i++) {
    const ws = await connect(proxy, '/echo', { authorization: AUTH })
    ws.terminate() // no Close frame: the TCP connection just goes
  }
  const deadline = Date.now() + 4_000
  while ((upstream.wss.clients.size > 0 || proxy.app.tunnels.size > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(upstream.wss.clients.size, 0, 'the app\'s side closed too')
  t.equal(proxy.app.tunnels.size, 0)
})

t.test('one log line per tunnel when it ends, without the query, and the metrics', async (t) => {
  const ws = await connect(proxy, '/api/kernels/1/channels?token=secret-token', { authorization: AUTH })
  const echoed = new Promise((resolve) => ws.once('message', resolve))
  ws.send('ping')
  await echoed
  const metricsOpen = await proxy.app.metrics.registry.getSingleMetricAsString('auth_proxy_websockets_open')
  t.match(metricsOpen, /auth_proxy_websockets_open 1/)
  ws.close(1000)
  const deadline = Date.now() + 3_000
  while (!proxy.logs.some((l) => l.msg === 'websocket') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const line = proxy.logs.find((l) => l.msg === 'websocket')
  t.match(line, { method: 'GET', path: '/api/kernels/1/channels', status: 101, user: 'admin', closedBy: 'client', messagesIn: 1, messagesOut: 1 })
  t.ok(typeof line?.bytesIn === 'number' && line.bytesIn > 4 && typeof line.durationMs === 'number')
  t.notMatch(proxy.rawLogs.join(''), /secret-token/, 'never the query string')
  const total = await proxy.app.metrics.registry.getSingleMetricAsString('auth_proxy_websockets_total')
  t.match(total, /auth_proxy_websockets_total\{closed_by="client"\} 1/)
  t.match(await proxy.app.metrics.registry.getSingleMetricAsString('auth_proxy_requests_total'), /status_class="1xx"\} 1/, 'the handshake counted as a request')
})
