// Which requests are upgrades, and how they join the one request path. Node's parser flags a request as an
// upgrade when it carries `Upgrade` and an `upgrade` token in Connection; `isWebSocketUpgrade` (the server's
// shouldUpgradeCallback) then keeps only WebSocket handshakes as such (RFC 6455 §4.1: GET, HTTP/1.1,
// `Upgrade: websocket`, no body). Everything else — h2c (RFC 7540 §3.2, the h2c-smuggling vector), `Upgrade: foo`,
// two Upgrade values, a handshake with a body — is an ordinary request: Node emits it as one, and the header
// rewrite removes Upgrade as the hop-by-hop field it is, as nginx does. A request whose Connection token Node does
// not recognise (`upgrade` + U+00A0) never was an upgrade and takes the same ordinary path.
//
// An accepted handshake arrives on 'upgrade' with the socket detached from Node's HTTP parser. It is handed to
// Fastify's router with a response bound to that socket — as @fastify/websocket does — so the request guard,
// authentication and the forward handler run exactly as for any request. Whatever is answered on that socket
// (401, the app's refusal) ends the connection; only a tunnel keeps it. CONNECT takes the same route to its 405.
import type { IncomingMessage } from 'node:http'

// node:http as the built-in object, not through an ESM `import`: the ESM facade reads every export, and node:http's
// lazy WebSocket/EventSource getters then load Node's own bundled undici at start-up (~16 ms) for nothing.
const { Server, ServerResponse } = process.getBuiltinModule('node:http')
import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'

/**
 * Node.js 22.21+ / 24.9+ let the server decide which upgrades are upgrades (shouldUpgradeCallback). Older ones
 * would hand every Upgrade (h2c included) to the upgrade path: the proxy refuses to start on them.
 */
export function supportsUpgradeControl (): boolean {
  const decide = (): boolean => false
  return (new Server({ shouldUpgradeCallback: decide }) as InstanceType<typeof Server> & { shouldUpgradeCallback?: unknown }).shouldUpgradeCallback === decide
}

/** The connection's response still under way, if any (Node's `socket._httpMessage`, not in the types). */
function pendingResponse (socket: Duplex | null): unknown {
  const withMessage: (Duplex & { _httpMessage?: unknown }) | null = socket
  return withMessage?._httpMessage ?? null
}

export function isWebSocketUpgrade (req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade
  return req.method === 'GET' && req.httpVersion === '1.1' && typeof upgrade === 'string' &&
    upgrade.trim().toLowerCase() === 'websocket' &&
    req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined &&
    // Pipelined behind a request whose answer is still under way, it cannot take the socket over: it is answered
    // as an ordinary request in its turn (and its connection then closed).
    pendingResponse(req.socket) === null
}

/** Whether Node took the request as an upgrade (`IncomingMessage.upgrade`, documented but missing from the types). */
export function isUpgraded (req: IncomingMessage): boolean {
  return (req as IncomingMessage & { upgrade?: boolean }).upgrade === true
}

/**
 * A request Node's parser flagged as an upgrade and the proxy declined (not a WebSocket handshake), or one carrying
 * Upgrade that was no upgrade at all. Its connection is closed after the answer: Node drops whatever the client
 * pipelined behind a declined upgrade in the same packet, so the connection's state is no longer one to trust.
 */
export function closesConnection (req: IncomingMessage): boolean {
  return req.headers.upgrade !== undefined && !isUpgraded(req)
}

/** Bytes a client sent after its handshake, held (not yet relayed) until the app has switched protocols. */
const early = new WeakMap<IncomingMessage, { release: () => void }>()

/** At most this much is held for a client before its app answered; then reading pauses (TCP backpressure). */
const EARLY_BYTES = 64 * 1024

/**
 * Reads the client while the app has not answered its handshake: its first frames are held for the tunnel, and its
 * leaving (FIN) is noticed at once — the socket is closed, so the wait for the app ends and nothing stays open.
 */
function holdEarlyBytes (req: IncomingMessage, socket: Socket, head: Buffer): void {
  const held: Buffer[] = head.length > 0 ? [head] : []
  let size = head.length
  const onData = (chunk: Buffer): void => {
    held.push(chunk)
    size += chunk.length
    if (size >= EARLY_BYTES) socket.pause()
  }
  const onEnd = (): void => { socket.destroy() }
  socket.on('data', onData)
  socket.once('end', onEnd)
  early.set(req, {
    release: () => {
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.pause()
      if (held.length > 0) socket.unshift(Buffer.concat(held))
    }
  })
}

/** Hands the held bytes back to the socket, for the tunnel to relay first (tunnel.ts). */
export function releaseEarlyBytes (req: IncomingMessage): void {
  early.get(req)?.release()
  early.delete(req)
}

/** How long an answered detached socket may take to flush before it is destroyed. */
const LINGER_MS = 1_000

/** Routes `req` on `socket` (no HTTP parser left on it) through Fastify; the connection closes after the answer. */
function routeDetached (app: FastifyInstance, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // Always a net.Socket (a TLSSocket with TLS_CERT_FILE): typed as a Duplex by the event.
  if (!(socket instanceof Socket)) { socket.destroy(); return }
  // A CONNECT pipelined behind an answer still under way (isWebSocketUpgrade keeps upgrades out of that case) takes
  // the socket only once that answer is out; should the connection go first, there is nobody left to answer.
  const pending = pendingResponse(socket) as { once: (event: string, listener: () => void) => void } | null
  if (pending !== null) {
    pending.once('finish', () => { setImmediate(() => { routeDetached(app, req, socket, head) }) })
    pending.once('close', () => { if (pendingResponse(socket) !== null) socket.destroy() })
    return
  }
  // Node removed its own listeners with the parser; an error on this socket must not become an uncaught one.
  socket.on('error', () => { socket.destroy() })
  holdEarlyBytes(req, socket, head)
  const res = new ServerResponse(req)
  res.shouldKeepAlive = false // answers carry Connection: close: nothing could read a next request
  try {
    res.assignSocket(socket)
  } catch {
    socket.destroy()
    return
  }
  // Answered (401, 405, the app's refusal): closed, and destroyed should the client not read or close its side.
  res.once('finish', () => {
    socket.end()
    setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
  })
  app.routing(req, res)
}

export function installUpgrades (app: FastifyInstance): void {
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { routeDetached(app, req, socket, head) })
  // Without a listener Node would drop CONNECT without a word; routed, it gets its 405 like TRACE.
  app.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => { routeDetached(app, req, socket, head) })
}
