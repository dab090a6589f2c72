// Bodies that real apps send: 100-continue uploads, server-sent events, chunked streams, and responses
// that die half-way — which the client must see as broken, never as a complete 200.
import { createServer, request, Agent } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { requestLines, startProxy } from '../../helpers/proxy.ts'
import { startUpstream } from '../../helpers/upstream.ts'

const CREDS = { AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' }
const AUTH = basic('admin', 'admin1041')

async function listen (handler: Parameters<typeof createServer>[1], configure?: (s: ReturnType<typeof createServer>) => void): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer(handler)
  configure?.(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

/** Sends a body with `Expect: 100-continue` and reports whether a 100 came before the final status. */
async function expectContinue (url: string, authorization?: string): Promise<{ continued: boolean, status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const u = new URL(url)
    let continued = false
    const req = request({ host: u.hostname, port: u.port, path: '/upload', method: 'PUT', agent: false, headers: { expect: '100-continue', 'content-length': '11', ...(authorization !== undefined && { authorization }) } })
    req.on('continue', () => { continued = true; req.end('hello world') })
    req.on('response', (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ continued, status: res.statusCode ?? 0, body }) })
      if (!continued) req.destroy() // never sent the body
    })
    req.on('error', (err) => { if (!continued) return; reject(err) })
  })
}

t.test('Expect: 100-continue — authenticated: 100, then the body reaches the app', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const r = await expectContinue(proxy.url, AUTH)
  t.equal(r.continued, true)
  t.equal(r.status, 200)
  const received = JSON.parse(r.body) as { bodyBytes: number, headers: Record<string, string> }
  t.equal(received.bodyBytes, 11)
  t.equal(received.headers.expect, undefined, 'the app gets a plain request')
})

t.test('Expect: 100-continue — unauthenticated: 401 at once, no 100, nothing uploaded', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const r = await expectContinue(proxy.url)
  t.equal(r.continued, false)
  t.equal(r.status, 401)
  t.equal(upstream.received.length, 0)
})

t.test('server-sent events reach the client as they are sent, not buffered', async (t) => {
  let release: () => void = () => {}
  const secondSent = new Promise<void>((resolve) => { release = resolve })
  const upstream = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('data: one\n\n')
    void secondSent.then(() => { res.write('data: two\n\n'); res.end() })
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const { port } = new URL(proxy.url)
  const events: string[] = []
  await new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/events', agent: false, headers: { authorization: AUTH, accept: 'text/event-stream' } }, (res) => {
      t.equal(res.headers['content-type'], 'text/event-stream')
      res.on('data', (chunk: Buffer) => {
        events.push(chunk.toString())
        if (events.length === 1) release() // the first event arrived before the second was even written
      })
      res.on('end', resolve)
    }).on('error', reject).end()
  })
  t.match(events[0], /data: one/)
  t.match(events.join(''), /data: one\n\ndata: two\n\n/)
})

t.test('a chunked response of unknown length passes through whole', async (t) => {
  const upstream = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    let n = 0
    const timer = setInterval(() => { res.write(`chunk ${n}\n`); if (++n === 20) { clearInterval(timer); res.end() } }, 2)
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const res = await send(`${proxy.url}/`, { headers: { authorization: AUTH } })
  t.equal(res.status, 200)
  t.equal(res.body.split('\n').filter((l) => l !== '').length, 20)
})

for (const framing of ['content-length', 'chunked'] as const) {
  t.test(`an upstream dying mid-response (${framing}) gives the client a broken response, not a short 200`, async (t) => {
    const upstream = await listen((req, res) => {
      if (req.url === '/ok') { res.end('fine'); return }
      res.writeHead(200, framing === 'content-length' ? { 'content-length': '100000' } : {})
      res.write(Buffer.alloc(1000, 'a'))
      setTimeout(() => { res.socket?.destroy() }, 20)
    })
    const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
    t.teardown(async () => { await proxy.close(); await upstream.close() })
    const outcome = await send(`${proxy.url}/`, { headers: { authorization: AUTH } }).then(
      (res) => `completed with ${res.status} and ${res.body.length} bytes`,
      (err: unknown) => `broken: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    t.match(outcome, /^broken: /, outcome)
    t.equal((await send(`${proxy.url}/ok`, { headers: { authorization: AUTH } })).body, 'fine', 'the proxy keeps serving')
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.ok(proxy.logs.some((l) => l.msg === 'request aborted'), 'logged as aborted')
  })
}

t.test('UPSTREAM_BODY_TIMEOUT: a response that stalls half-way is cut, and the client sees it broken', async (t) => {
  const upstream = await listen((_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('partial') // then nothing
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url, UPSTREAM_BODY_TIMEOUT: '300ms' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const started = Date.now()
  const outcome = await send(`${proxy.url}/`, { headers: { authorization: AUTH } }).then(() => 'completed', () => 'broken')
  t.equal(outcome, 'broken')
  t.ok(Date.now() - started < 3_000)
})

t.test('keep-alive to the upstream is reused safely when the upstream closes idle sockets first', async (t) => {
  const upstream = await listen((_req, res) => { res.end('ok') }, (s) => { s.keepAliveTimeout = 150 })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url, LOG_LEVEL: 'warn' })
  const agent = new Agent({ keepAlive: true })
  t.teardown(async () => { agent.destroy(); await proxy.close(); await upstream.close() })
  const { port } = new URL(proxy.url)
  let failed = 0
  // Pauses around the upstream's idle timeout, where a naive pool would reuse a socket the app just closed.
  for (const pause of [0, 140, 150, 160, 200, 145, 155, 300, 0, 0]) {
    await new Promise((resolve) => setTimeout(resolve, pause))
    const status = await new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port, path: '/', agent, headers: { authorization: AUTH } }, (res) => {
        res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0) })
      }).on('error', () => { resolve(0) }).end()
    })
    if (status !== 200) failed++
  }
  t.equal(failed, 0)
  t.equal(requestLines(proxy).length, 0, 'nothing logged at warn: no upstream errors')
})

t.test('a client that leaves before the app answers: the app\'s request is abandoned too (as nginx does)', async (t) => {
  let appRequestClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => { appRequestClosed = resolve })
  let arrived: () => void = () => {}
  const reached = new Promise<void>((resolve) => { arrived = resolve })
  const upstream = await listen((req, res) => {
    arrived()
    res.on('close', () => { if (!res.writableFinished) appRequestClosed() })
    setTimeout(() => { if (!res.destroyed) res.end('too late') }, 5_000)
    req.resume()
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const { port } = new URL(proxy.url)
  const client = request({ host: '127.0.0.1', port, path: '/slow', agent: false, headers: { authorization: AUTH } })
  client.on('error', () => {})
  client.end()
  await reached
  client.destroy()
  const outcome = await Promise.race([closed.then(() => 'abandoned'), new Promise((resolve) => setTimeout(() => { resolve('still waiting') }, 2_000))])
  t.equal(outcome, 'abandoned', 'the proxy closed its request to the app')
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: AUTH } })).status, 200, 'the proxy keeps serving')
})

t.test('a slow client: the app is paused, not buffered (backpressure through the proxy)', async (t) => {
  const total = 64 * 1024 * 1024
  let written = 0
  const upstream = await listen((_req, res) => {
    res.writeHead(200, { 'content-length': String(total) })
    const chunk = Buffer.alloc(64 * 1024, 'x')
    const pump = (): void => {
      while (written < total) {
        written += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
  })
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const { port } = new URL(proxy.url)
  let received = 0
  await new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/big', agent: false, headers: { authorization: AUTH } }, (res) => {
      res.pause() // read nothing for a while: the proxy must stop reading from the app
      setTimeout(() => {
        t.ok(written < 16 * 1024 * 1024, `the app could write only what the socket buffers hold (${written} of ${total} bytes)`)
        res.on('data', (c: Buffer) => { received += c.length })
        res.on('end', resolve)
        res.resume()
      }, 500)
    }).on('error', reject).end()
  })
  t.equal(received, total, 'then the whole body arrives')
})
