// What the upstream receives and what the client gets back, through the real proxy and a real upstream.
import { Readable } from 'node:stream'
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { startUpstream, type Received, type Upstream } from '../../helpers/upstream.ts'

const AUTH = basic('admin', 'admin1041')
let upstream: Upstream
let proxy: RunningProxy

t.before(async () => {
  upstream = await startUpstream((req, res, received) => {
    if (req.url?.startsWith('/status/') === true) {
      res.statusCode = Number(req.url.slice('/status/'.length))
      res.setHeader('x-app', 'yes')
      res.setHeader('set-cookie', ['a=1; HttpOnly', 'b=2'])
      res.end('custom')
      return
    }
    if (req.url === '/big') {
      res.setHeader('content-type', 'application/octet-stream')
      Readable.from((function * () { for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, i) })()).pipe(res)
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(received))
  })
  proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
})
t.teardown(async () => {
  await proxy.close()
  await upstream.close()
})

async function forwarded (path: string, options: Parameters<typeof send>[1] = {}): Promise<Received> {
  const res = await send(`${proxy.url}${path}`, { ...options, headers: { authorization: AUTH, ...options.headers } })
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${res.body}`)
  return JSON.parse(res.body) as Received
}

t.test('method, path and query arrive verbatim', async (t) => {
  const cases = [
    '/', '/a/b/c', '/a/b/', '/search?q=a+b&q=c%20d&empty=&flag', '/x?z=1&a=2&z=3',
    '/enc/%2F/%25/%3F?%26=%3D', '/api/items%20list', '/~user/file.txt', '/a;b=c/d', '/q?redirect=/a?b=c', '/%7Bid%7D/%E2%9C%93', '/.well-known/x', '/a/.hidden/x..y'
  ]
  for (const path of cases) {
    t.equal((await forwarded(path)).url, path, path)
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    t.equal((await forwarded('/m', { method })).method, method)
  }
})

t.test('HEAD is forwarded as HEAD and gets headers without a body', async (t) => {
  const before = upstream.received.length
  const res = await send(`${proxy.url}/status/200`, { method: 'HEAD', headers: { authorization: AUTH } })
  t.equal(res.status, 200)
  t.equal(res.body, '')
  t.equal(upstream.received[before]?.method, 'HEAD')
})

t.test('request bodies of every content type are streamed unchanged', async (t) => {
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
    const body = Buffer.alloc(3 * 1024 * 1024, 'x') // above Fastify's 1 MiB default body limit
    const received = await forwarded('/upload', { method: 'POST', headers: { 'content-type': type }, body })
    t.equal(received.bodyBytes, body.length, type)
    t.equal(received.headers['content-type'], type, `${type}: content-type kept`)
  }
})

t.test('a chunked upload of unknown length is streamed', async (t) => {
  const chunks = Readable.from((function * () { for (let i = 0; i < 50; i++) yield Buffer.alloc(10_000, 'y') })())
  const received = await forwarded('/chunked', { method: 'PUT', body: chunks })
  t.equal(received.bodyBytes, 500_000)
})

t.test('invalid JSON is forwarded, not parsed and rejected by the proxy', async (t) => {
  const received = await forwarded('/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' })
  t.equal(received.bodyBytes, 9)
})

t.test('status and headers of the upstream come back', async (t) => {
  for (const status of [201, 204, 301, 404, 418, 500, 503]) {
    const res = await send(`${proxy.url}/status/${status}`, { headers: { authorization: AUTH } })
    t.equal(res.status, status, String(status))
    t.equal(res.headers['x-app'], 'yes')
    t.same(res.headers['set-cookie'], ['a=1; HttpOnly', 'b=2'], 'multiple Set-Cookie survive')
  }
})

t.test('an upstream 503 is relayed once, not retried by the proxy', async (t) => {
  const before = upstream.received.length
  const res = await send(`${proxy.url}/status/503`, { headers: { authorization: AUTH } })
  t.equal(res.status, 503)
  t.equal(upstream.received.length - before, 1)
})

t.test('large responses stream through intact', async (t) => {
  const res = await send(`${proxy.url}/big`, { headers: { authorization: AUTH } })
  t.equal(res.status, 200)
  t.equal(Buffer.byteLength(res.body, 'latin1'), 64 * 64 * 1024)
})

t.test('Host is passed through; X-Forwarded-For/Proto/Host and Forwarded describe the client', async (t) => {
  const r = await forwarded('/', { headers: { host: 'app.example.org' } })
  t.equal(r.headers.host, 'app.example.org')
  t.equal(r.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(r.headers['x-forwarded-proto'], 'http')
  t.equal(r.headers['x-forwarded-host'], 'app.example.org')
  t.equal(r.headers['x-real-ip'], '127.0.0.1')
  t.equal(r.headers.forwarded, 'for=127.0.0.1;proto=http;host="app.example.org"')
})

t.test('regression: upstream answering before reading the upload (socket gone at log time) does not crash the proxy', async (t) => {
  // An upstream that rejects at once, as apps do with 413, while the client is still uploading.
  const rejecting = await startUpstreamRejectingEarly()
  const q = await startProxy({ UPSTREAM_URL: rejecting.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' })
  t.teardown(async () => { await q.close(); await rejecting.close() })
  const body = Readable.from((async function * () {
    for (let i = 0; i < 40; i++) { yield Buffer.alloc(64 * 1024, 'z'); await new Promise((resolve) => setTimeout(resolve, 2)) }
  })())
  const res = await send(`${q.url}/upload`, { method: 'POST', headers: { authorization: AUTH }, body }).catch((err: unknown) => err)
  // Depending on who wins the race, undici sees the 413 or a reset while still writing (then 502).
  const status = res instanceof Error ? 'closed' : (res as { status: number }).status
  t.ok(status === 413 || status === 502 || status === 'closed', `client sees 413, 502 or a closed connection, got ${status}`)
  t.equal((await send(`${q.url}/after`, { headers: { authorization: AUTH } })).status, 413, 'proxy still serving')
  const lines = q.logs.filter((l) => l.msg === 'request' || l.msg === 'request aborted')
  t.ok(lines.some((l) => l.client === '127.0.0.1'), 'the log line still names the client')
})

async function startUpstreamRejectingEarly (): Promise<{ url: string, close: () => Promise<void> }> {
  const { createServer } = await import('node:http')
  const server = createServer((_req, res) => { res.statusCode = 413; res.setHeader('connection', 'close'); res.end('too large') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}
