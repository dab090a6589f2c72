// The app down, slow or dying: short coded answers, no stack traces, and the proxy keeps serving.
import { createServer, type Server } from 'node:http'
import t, { type Test } from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { freePort, startUpstream } from '../../helpers/upstream.ts'

const AUTH = { authorization: basic('admin', 'admin1041') }
const CREDS = { AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' }

function noStack (t: Test, body: string): void {
  t.notMatch(body, /\n\s+at |node:internal|ECONNREFUSED|127\.0\.0\.1:\d+/, 'no stack trace or internal detail in the body')
}

t.test('app not started yet → 503 with Retry-After; once it has answered, down → 502; recovery without a restart', async (t) => {
  const port = await freePort()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${port}` })
  t.teardown(async () => { await proxy.close() })

  const starting = await send(`${proxy.url}/`, { headers: AUTH })
  t.equal(starting.status, 503)
  t.equal(starting.headers['retry-after'], '2')
  t.match(starting.body, /^503 Upstream starting \(AUTH_PROXY_ERR_UPSTREAM_STARTING, request [0-9a-f]{10}\)\n$/)
  noStack(t, starting.body)

  const upstream = await startUpstream(undefined, port)
  t.teardown(async () => { await upstream.close() })
  t.equal((await send(`${proxy.url}/`, { headers: AUTH })).status, 200, 'recovered by itself')

  await upstream.close()
  const down = await send(`${proxy.url}/`, { headers: AUTH })
  t.equal(down.status, 502, 'after having answered, a refusal means down')
  t.match(down.body, /AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE/)
  t.equal(down.headers['retry-after'], undefined)
  noStack(t, down.body)
})

t.test('JSON clients get the error as JSON', async (t) => {
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${await freePort()}` })
  t.teardown(async () => { await proxy.close() })
  const res = await send(`${proxy.url}/api`, { headers: { ...AUTH, accept: 'application/json' } })
  t.equal(res.status, 503)
  t.match(res.headers['content-type'], /^application\/json/)
  t.match(JSON.parse(res.body), { statusCode: 503, code: 'AUTH_PROXY_ERR_UPSTREAM_STARTING', message: 'Upstream starting' })
})

t.test('browsers get the error as HTML', async (t) => {
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${await freePort()}` })
  t.teardown(async () => { await proxy.close() })
  const res = await send(`${proxy.url}/`, { headers: { ...AUTH, accept: 'text/html,application/xhtml+xml' } })
  t.equal(res.status, 503)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<h1>The app is starting<\/h1>/)
  t.match(res.body, /503 · AUTH_PROXY_ERR_UPSTREAM_STARTING/)
})

t.test('upstream too slow to answer → 504 after UPSTREAM_TIMEOUT; the proxy keeps serving', async (t) => {
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/slow') { setTimeout(() => { res.end('late') }, 2_000); return }
    res.end('fast')
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT: '200ms' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const started = Date.now()
  const slow = await send(`${proxy.url}/slow`, { headers: AUTH })
  t.equal(slow.status, 504)
  t.match(slow.body, /AUTH_PROXY_ERR_UPSTREAM_TIMEOUT/)
  noStack(t, slow.body)
  t.ok(Date.now() - started < 1_900, 'answered before the upstream would have')
  t.equal((await send(`${proxy.url}/fast`, { headers: AUTH })).body, 'fast')
})

t.test('upstream that accepts and then closes without answering → 502', async (t) => {
  const server: Server = createServer((req) => { req.socket.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${address.port}` })
  t.teardown(async () => { await proxy.close(); await new Promise((resolve) => server.close(resolve)) })
  const res = await send(`${proxy.url}/`, { headers: AUTH })
  t.equal(res.status, 502)
  noStack(t, res.body)
})

t.test('upstream with a status code HTTP does not allow → 502, not 500, and its connection is released', async (t) => {
  const { createServer: createTcp } = await import('node:net')
  const upstreamSockets = new Set<import('node:net').Socket>()
  let released = 0
  const server = createTcp((socket) => {
    upstreamSockets.add(socket)
    socket.on('close', () => { released++ })
    socket.end('HTTP/1.1 999 Nope\r\n\r\n') // three digits, so the parser takes it; Fastify cannot send it on
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${address.port}` })
  t.teardown(async () => {
    await proxy.close()
    for (const socket of upstreamSockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const res = await send(`${proxy.url}/`, { headers: AUTH })
  t.equal(res.status, 502)
  t.match(res.body, /AUTH_PROXY_ERR_BAD_GATEWAY/)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(released, 1, 'the upstream connection was closed, not leaked')
  t.equal((await send(`${proxy.url}/`, { headers: AUTH })).status, 502, 'still serving')
})

t.test('bad input is a 4xx, never a 500: malformed percent-encoding and dot-segments', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  for (const path of ['/%', '/%zz', '/a/%2e%2e/b', '/a/../b', '/..%2fetc/passwd']) {
    const res = await send(`${proxy.url}${path}`, { headers: AUTH })
    t.equal(res.status, 400, path)
    t.match(res.body, /AUTH_PROXY_ERR_BAD_REQUEST/, `${path}: coded body`)
  }
  t.equal(upstream.received.length, 0, 'none of them reached the app')
})

t.test('regression: keep-alive race after an app stall — a GET the app closed unanswered on a reused connection is retried once on a new one; a POST is not', async (t) => {
  const { createServer: createNetServer } = await import('node:net')
  // An app that drops the next `drops` requests unanswered (`early`: after writing a 103). Each case first sends a
  // GET that is answered, so the dropped request goes out on a connection that has answered before — what a
  // kept-alive connection looks like when the app's idle timer fires as the request arrives.
  const app = { drops: 0, early: false }
  const seen: string[] = []
  /** For each dropped request: whether its connection had answered before (reused). */
  const droppedOnReused: boolean[] = []
  const server = createNetServer((socket) => {
    let answered = 0
    socket.on('data', (chunk) => {
      seen.push(chunk.toString('latin1').split('\r\n')[0] ?? '')
      if (app.drops > 0) {
        app.drops--
        droppedOnReused.push(answered > 0)
        if (app.early) socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n')
        socket.destroy()
        return
      }
      answered++
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${address.port}` })
  t.teardown(async () => { await proxy.close(); server.close() })
  const get = async (): Promise<number> => (await send(`${proxy.url}/page`, { headers: AUTH })).status
  const arm = async (next: Partial<typeof app>): Promise<void> => {
    t.equal(await get(), 200, 'a kept-alive connection that has answered')
    Object.assign(app, { drops: 0, early: false }, next)
    seen.length = 0
    droppedOnReused.length = 0
  }

  await arm({ drops: 1 })
  t.equal(await get(), 200, 'the GET got its answer')
  t.same(seen, ['GET /page HTTP/1.1', 'GET /page HTTP/1.1'], 'sent twice: once on the reused connection the app closed, once more')
  t.same(droppedOnReused, [true], 'the dropped one was on a reused connection')

  await arm({ drops: 2 })
  t.equal(await get(), 502, 'retried once only: the second close is answered 502')
  t.equal(seen.length, 2)

  await arm({ drops: 1 })
  const post = await send(`${proxy.url}/form`, { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'x' })
  t.equal(post.status, 502, 'a POST is never sent twice: the app may have acted on it')
  t.equal(seen.length, 1)
  t.same(droppedOnReused, [true])

  await arm({ drops: 1, early: true })
  t.equal(await get(), 502, 'the app had begun to answer (a 103): never sent again')
  t.equal(seen.length, 1)
  t.same(droppedOnReused, [true])
})

t.test('regression: a GET the app read on a new connection and died on is not sent again (it would do it twice)', async (t) => {
  const { createServer: createNetServer } = await import('node:net')
  const seen: string[] = []
  const server = createNetServer((socket) => {
    socket.once('data', (chunk) => { seen.push(chunk.toString('latin1').split('\r\n')[0] ?? ''); setTimeout(() => { socket.destroy() }, 100) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: `http://127.0.0.1:${(server.address() as { port: number }).port}` })
  t.teardown(async () => { await proxy.close(); server.close() })
  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    seen.length = 0
    t.equal((await send(`${proxy.url}/slow`, { method, headers: AUTH })).status, 502, method)
    t.same(seen, [`${method} /slow HTTP/1.1`], `${method} reached the app once`)
  }
})
