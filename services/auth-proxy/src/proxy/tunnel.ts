// WebSocket tunnels, transparent as nginx's: the client's upgrade request — authenticated, its headers rebuilt by
// headers.ts like every other request's — goes to the app, and the client gets the app's own answer. Only a 101
// from the app that really accepts this handshake (RFC 6455 §4.2.2: `Upgrade: websocket` and the
// Sec-WebSocket-Accept derived from the client's key) opens a tunnel; a refusal (404 for an unknown Jupyter
// kernel, 401, 426) reaches the client as the ordinary response it is (forward.ts), and the connection then
// closes, so no byte the client sent after its handshake is ever read as HTTP by the app (WebSocket smuggling).
// Once open, bytes are relayed verbatim both ways with backpressure; either side ending or closing ends the
// other; an idle tunnel and one open at shutdown are ended with a Close frame 1001 between two frames.
import { createHash } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BadGatewayError } from '../errors.ts'
import { responseHeaders } from './headers.ts'
import { releaseEarlyBytes } from './upgrade.ts'
import { closeFrame, FrameBoundary, GOING_AWAY } from './ws-frames.ts'

/** RFC 6455 §1.3: the GUID appended to the client's key. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** How long a tunnel being ended may take to flush before both sockets are destroyed. */
const LINGER_MS = 2_000

/** Who ended a tunnel, for its log line and the outcome metric. */
export type TunnelEnd = 'client' | 'app' | 'idle' | 'shutdown' | 'error'

/** What the tunnel's log line and metrics get when it ends (request.log writes it, request-log.ts). */
export interface TunnelSummary {
  readonly closedBy: TunnelEnd
  readonly durationMs: number
  /** Bytes from the client to the app, and back. */
  readonly bytesIn: number
  readonly bytesOut: number
  readonly messagesIn: number
  readonly messagesOut: number
}

export function acceptKey (key: string): string {
  return createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64')
}

/** Why the app's 101 is not one the proxy may relay, or undefined when it is. */
export function invalidSwitch (clientKey: string | undefined, app: Record<string, string | string[] | undefined>): string | undefined {
  const upgrade = app.upgrade
  if (typeof upgrade !== 'string' || upgrade.trim().toLowerCase() !== 'websocket') return 'a 101 without Upgrade: websocket'
  if (clientKey === undefined || app['sec-websocket-accept'] !== acceptKey(clientKey)) return 'a 101 whose Sec-WebSocket-Accept does not answer the client\'s key'
  return undefined
}

/** One open tunnel: the client's socket and the app's, relayed to each other. */
class Tunnel {
  readonly #client: Duplex
  readonly #app: Duplex
  readonly #toApp = new FrameBoundary()
  readonly #toClient = new FrameBoundary()
  readonly #started = Date.now()
  readonly #idle: NodeJS.Timeout | undefined
  readonly #onEnd: (summary: TunnelSummary) => void
  #bytesIn = 0
  #bytesOut = 0
  #closedBy: TunnelEnd | undefined
  #ended = false

  constructor (client: Duplex, app: Duplex, idleMs: number, onEnd: (summary: TunnelSummary) => void) {
    this.#client = client
    this.#app = app
    this.#onEnd = onEnd
    this.#idle = idleMs > 0 ? setTimeout(() => { this.end('idle') }, idleMs) : undefined
    this.#relay(client, app, this.#toApp, 'client', (n) => { this.#bytesIn += n })
    this.#relay(app, client, this.#toClient, 'app', (n) => { this.#bytesOut += n })
    // Both sockets were left paused by their parsers (Node's, undici's); the client's may already hold frames.
    client.resume()
    app.resume()
  }

  #relay (from: Duplex, to: Duplex, frames: FrameBoundary, side: 'client' | 'app', count: (bytes: number) => void): void {
    from.on('data', (chunk: Buffer) => {
      count(chunk.length)
      frames.feed(chunk)
      if (frames.closing) this.#closedBy ??= side // who sent the first Close frame ended the session
      this.#idle?.refresh()
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => { from.resume() })
      }
    })
    // A half-close is passed on — the other side may still send its Close frame back — but WebSocket has no
    // use for a half-open connection beyond that: LINGER_MS later both are closed, whoever kept theirs open.
    const ended = (): void => {
      this.#closedBy ??= side
      to.end()
      setTimeout(() => { this.#destroy() }, LINGER_MS).unref()
    }
    // The client may have half-closed before the app answered: its end was read with the handshake, long gone.
    if (from.readableEnded || !from.readable) ended()
    else from.once('end', ended)
    from.once('error', () => { this.#closedBy ??= 'error'; this.#destroy() })
    from.once('close', () => { this.#closedBy ??= side; this.#finish(to) })
  }

  /**
   * Ends the tunnel from the proxy's side (idle, shutdown): a Close frame 1001 to each peer when both streams are
   * between frames, then a TCP close; mid-frame there is no clean way, so the connections are cut.
   */
  end (reason: 'idle' | 'shutdown'): void {
    if (this.#ended) return
    this.#closedBy ??= reason
    this.#client.pause()
    this.#app.pause()
    if (this.#toApp.atBoundary && this.#toClient.atBoundary) {
      const why = reason === 'idle' ? 'idle timeout' : 'proxy shutting down'
      this.#client.end(closeFrame(GOING_AWAY, why, false))
      this.#app.end(closeFrame(GOING_AWAY, why, true))
      // What the peers answer (their Close frames) is read and dropped until their sockets close.
      for (const socket of [this.#client, this.#app]) { socket.removeAllListeners('data'); socket.on('data', () => {}); socket.resume() }
      setTimeout(() => { this.#destroy() }, LINGER_MS).unref()
    } else {
      this.#destroy()
    }
  }

  #finish (other: Duplex): void {
    // One side is gone: the other gets what is already queued for it, then its close.
    other.end()
    setTimeout(() => { other.destroy() }, LINGER_MS).unref()
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#idle)
    this.#onEnd({
      closedBy: this.#closedBy ?? 'error',
      durationMs: Date.now() - this.#started,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      messagesIn: this.#toApp.messages,
      messagesOut: this.#toClient.messages
    })
  }

  #destroy (): void {
    this.#client.destroy()
    this.#app.destroy()
  }
}

/** The open tunnels, for the gauge, graceful shutdown and app.close(). */
export class Tunnels {
  readonly #open = new Set<Tunnel>()
  get size (): number { return this.#open.size }

  /** Ends every open tunnel with a Close frame where it can (shutdown, after the drain). */
  endAll (): void {
    for (const tunnel of this.#open) tunnel.end('shutdown')
  }

  add (tunnel: Tunnel): void { this.#open.add(tunnel) }
  delete (tunnel: Tunnel): void { this.#open.delete(tunnel) }
}

export interface TunnelContext {
  readonly tunnels: Tunnels
  /** WEBSOCKET_IDLE_TIMEOUT; 0 for none. */
  readonly idleMs: number
  /** Writes the tunnel's log line and updates metrics when it ends. */
  readonly tunnelEnded: (request: FastifyRequest, reply: FastifyReply, summary: TunnelSummary) => void
  /** Counts the handshake (the 101) like a completed request. */
  readonly tunnelOpened: (request: FastifyRequest, reply: FastifyReply) => void
}

/**
 * The app switched protocols: checks its 101, sends it on to the client and starts relaying. Returns the error to
 * answer with instead when the 101 is not a valid answer to this handshake (the app's socket is then closed).
 */
export function openTunnel (ctx: TunnelContext, request: FastifyRequest, reply: FastifyReply,
  appHeaders: Record<string, string | string[] | undefined>, appSocket: Duplex): Error | undefined {
  const key = request.headers['sec-websocket-key']
  const invalid = invalidSwitch(typeof key === 'string' ? key : undefined, appHeaders)
  if (invalid !== undefined) {
    appSocket.destroy()
    return new BadGatewayError({ cause: new Error(invalid) })
  }
  const client = request.raw.socket
  if (client.destroyed) { appSocket.destroy(); return undefined }
  // RFC 9110 §15.2.2 / RFC 6455 §4.2.2: the app's 101 with its Accept, protocol and extensions, the proxy's own
  // hop-by-hop fields (Connection, Upgrade) made afresh. Latin-1: header values are octets, as parsed.
  const fields = responseHeaders(appHeaders, reply.getHeaders(), ['connection', 'Upgrade', 'upgrade', 'websocket'])
  let head = 'HTTP/1.1 101 Switching Protocols\r\n'
  for (let i = 0; i < fields.length; i += 2) head += `${fields[i] ?? ''}: ${fields[i + 1] ?? ''}\r\n`
  reply.hijack()
  releaseEarlyBytes(request.raw) // the client's first frames, held since its handshake, go first
  client.write(`${head}\r\n`, 'latin1')
  ctx.tunnelOpened(request, reply)
  const tunnel: Tunnel = new Tunnel(client, appSocket, ctx.idleMs, (summary) => {
    ctx.tunnels.delete(tunnel)
    ctx.tunnelEnded(request, reply, summary)
  })
  ctx.tunnels.add(tunnel)
  return undefined
}
