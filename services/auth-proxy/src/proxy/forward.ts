// Forwarding on the hot path: one undici dispatch per client request — plain HTTP and WebSocket upgrades alike —
// with the headers from the one place that builds them (headers.ts), bodies streamed both ways with backpressure.
//
// Why a dispatch handler and not `pool.request` + `reply.send(stream)`: that path wraps every response body in
// a Readable, pipes it through Fastify's stream sender (end-of-stream listeners on both sides) and copies the
// headers twice — a third of the proxy's CPU per request (docs/performance.md). Here the app's status, headers
// and body chunks go straight to the client's response: once the app has answered, `writeHead` with a flat
// header list and `reply.hijack()`, then `write` per chunk, pausing the app while the client is slow. Fastify
// still logs the request (its finish listener is set up before the handler runs); what its stream sender did on
// a broken body is done here: log "request aborted" and cut the client's connection.
//
// An upgrade (only a WebSocket handshake reaches here as one, see upgrade.ts) is the same dispatch with
// `upgrade: 'websocket'`: a refusal from the app comes back through onResponseStart like any answer and is relayed
// as such; a 101 comes through onRequestUpgrade and becomes a tunnel (tunnel.ts).
import type { Duplex } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { BarePool } from 'undici/lib/dispatcher/pool.js'
import { BadGatewayError, RequestTimeoutError } from '../errors.ts'
import type { ProxyMetrics } from '../metrics.ts'
import type { BodyReclaimer } from './body-reclaim.ts'
import { responseHeaders, upstreamRequestHeaders, type ForwardingOptions } from './headers.ts'
import { prepareBody, watchBodyIdle, type BodyTimeout, type PreparedBody } from './request-body.ts'
import { openTunnel, type TunnelContext } from './tunnel.ts'
import { closesConnection, isUpgraded } from './upgrade.ts'
import { upstreamError, type UpstreamState } from './upstream.ts'

export interface ForwardContext {
  /** Requests without a body, or with one read whole. */
  readonly pool: BarePool
  /** Requests whose body streams (larger than BUFFERED_BODY_BYTES): stalled uploads cannot starve the others. */
  readonly uploadPool: BarePool
  readonly forwarding: ForwardingOptions
  readonly state: UpstreamState
  readonly metrics: ProxyMetrics
  /** CLIENT_BODY_TIMEOUT; 0 for none. */
  readonly bodyIdleMs: number
  readonly tunnel: TunnelContext
  /** A response that broke after its headers went out (Fastify's LogController.streamError). */
  readonly streamError: (error: Error, request: FastifyRequest, reply: FastifyReply) => void
  /** The client left before the answer was complete: Fastify logs nothing then (no 'finish'); the request log does. */
  readonly clientClosed: (request: FastifyRequest, reply: FastifyReply) => void
  readonly reclaim: BodyReclaimer
}

/** RFC 9112 §6: a request has a body when it says so by Content-Length (non-zero) or Transfer-Encoding. */
function hasBody (request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** The status codes Fastify itself accepts (reply.code); anything else from the app is a bad gateway. */
function relayable (status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599
}

/** The client went away before the app's answer was complete: the app's request is abandoned (as nginx does). */
class ClientClosedError extends Error {
  readonly code = 'ERR_CLIENT_CLOSED'
  constructor () { super('client closed the connection') }
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: ForwardContext
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply
  /** The request body streamed to the app, or null. */
  readonly #body: PreparedBody | null
  #controller: Dispatcher.DispatchController | undefined
  /** The app's answer has started going to the client (the reply is hijacked). */
  #relaying = false
  #finished = false

  /** Sends the request again on another connection: set for the one retry an idempotent bodiless request gets. */
  readonly #retry: (() => void) | undefined
  /** The app has begun an answer (a status line, 1xx included): too late to send the request again. */
  #answered = false

  constructor (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply, body: PreparedBody | null, retry?: () => void) {
    this.#body = body
    this.#ctx = ctx
    this.#request = request
    this.#reply = reply
    this.#retry = retry
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    const res = this.#reply.raw
    if (res.destroyed) { controller.abort(new ClientClosedError()); return }
    // undici attaches its own 'data' listener to the body in the same tick, right after this call.
    if (this.#body !== null && !Buffer.isBuffer(this.#body)) this.#ctx.reclaim.track(this.#body)
    res.once('close', () => {
      if (!this.#finished) controller.abort(new ClientClosedError())
    })
  }

  /** Ends the request to the app with `err` as the client's answer (a stalled body: 408). */
  abort (err: Error): void {
    this.#controller?.abort(err)
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#answered = true // even a 1xx: the app is answering this request, so it is never sent again
    if (statusCode < 200) return // 1xx informational: the final answer follows (undici answers 100-continue itself)
    this.#ctx.state.seen = true
    if (!relayable(statusCode)) {
      // A status HTTP cannot relay (e.g. 999): release the app's connection, answer 502.
      controller.abort(new BadGatewayError({ cause: new RangeError(`status ${statusCode} from the app`) }))
      return
    }
    const reply = this.#reply
    const res = reply.raw
    // Headers first: should Node refuse a field, undici turns the throw into an abort and the client gets a 502
    // through the still un-hijacked reply. The connection ends when shutting down, after a declined upgrade, and
    // when the app answered before the client's body was all in (a 413 to a large upload): the rest of the body
    // would otherwise be left unread on a keep-alive connection that then carries nothing else.
    const raw = this.#request.raw
    const close = reply.server.draining || closesConnection(raw) || (this.#body !== null && !raw.complete)
    res.writeHead(statusCode, responseHeaders(headers, reply.getHeaders(), close ? ['connection', 'close'] : []))
    reply.hijack()
    this.#relaying = true
    if (close) res.once('finish', () => { raw.socket.destroySoon() })
    if (statusCode === 204 || statusCode === 304) {
      // RFC 9110 §15.3.5, §15.4.5: never a body, whatever Content-Length the app sent (undici would call that a
      // length mismatch and the client would get a cut connection instead of the answer).
      this.#finished = true
      res.end()
      return
    }
    if (res.writableNeedDrain) this.#pauseUntilDrained(controller)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#ctx.reclaim.add(chunk.length)
    if (!this.#reply.raw.write(chunk)) this.#pauseUntilDrained(controller)
  }

  onResponseEnd (): void {
    if (this.#finished) return
    this.#finished = true
    this.#reply.raw.end()
  }

  onRequestUpgrade (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    this.#finished = true
    this.#ctx.state.seen = true
    const refused = statusCode === 101 ? openTunnel(this.#ctx.tunnel, this.#request, this.#reply, headers, socket) : new BadGatewayError()
    if (refused !== undefined) this.#answer(refused)
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#finished) return
    this.#finished = true
    const res = this.#reply.raw
    if (err instanceof ClientClosedError) {
      // Nobody left to answer, but the app may have acted on the request: it gets its log line (status 499).
      this.#ctx.clientClosed(this.#request, this.#reply)
      return
    }
    if (this.#relaying) {
      // Headers are out: the only honest signal left is a broken connection, never a short "complete" response.
      this.#ctx.streamError(err, this.#request, this.#reply)
      res.destroy()
      return
    }
    if (this.#retry !== undefined && !this.#answered && closedIdleConnection(err) && !res.destroyed) { this.#retry(); return }
    this.#answer(err)
  }

  /** Answers the client with the coded error for `err` (upstream failures mapped in upstream.ts). */
  #answer (err: Error): void {
    const reply = this.#reply
    if (reply.sent || reply.raw.destroyed) return
    if (err instanceof RequestTimeoutError) {
      // The rest of the body is not read: the connection cannot carry another request.
      void reply.header('connection', 'close')
      reply.send(err)
      return
    }
    const mapped = upstreamError(err, this.#ctx.state)
    this.#ctx.metrics.upstreamError(mapped.kind)
    reply.send(mapped.error)
  }

  #pauseUntilDrained (controller: Dispatcher.DispatchController): void {
    controller.pause()
    this.#reply.raw.once('drain', () => { controller.resume() })
  }
}

/**
 * The keep-alive race: the app closed a connection it had already answered on (kept alive, now reused) as this
 * request went out — its idle timeout firing just then (after the app was stalled, every idle timer fires at once
 * on resume). Only then is the request known not to have been taken up. A close on a fresh connection is the app
 * reading the request and dying on it (an OOM, a query of death): sending it again would do it twice. Neither a
 * refused connection (the app is down) nor a timeout (retrying would double the wait) nor a reset qualifies.
 */
function closedIdleConnection (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  // The write failed: the request did not reach the app whole, so the app cannot have acted on it.
  if (code === 'EPIPE') return true
  // undici's socket errors for a connection the other side ended ('other side closed') or that went away
  // ('closed'); not 'bad upgrade' (an app answering 101 to an ordinary request answered, wrongly). Its socket
  // info says whether the connection had carried an answer before: bytes read on it.
  if (code !== 'UND_ERR_SOCKET' || (err.message !== 'other side closed' && err.message !== 'closed')) return false
  return ((err as { socket?: { bytesRead?: number } }).socket?.bytesRead ?? 0) > 0
}

/** RFC 9110 §9.2.2: idempotent requests may be retried automatically — here the bodiless ones, once. */
const RETRIED = new Set(['GET', 'HEAD', 'OPTIONS'])

function dispatch (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply, body: PreparedBody | null, upgrade: boolean, attempt = 1): ForwardHandler {
  const retry = attempt === 1 && body === null && !upgrade && RETRIED.has(request.method)
    ? () => { dispatch(ctx, request, reply, body, upgrade, 2) }
    : undefined
  const handler = new ForwardHandler(ctx, request, reply, body, retry)
  const pool = body === null || Buffer.isBuffer(body) ? ctx.pool : ctx.uploadPool
  pool.dispatch({
    // The path and query exactly as received: the request guard has already refused anything ambiguous.
    path: request.url,
    method: request.method,
    headers: upstreamRequestHeaders(request, ctx.forwarding, upgrade),
    body,
    ...(upgrade && { upgrade: 'websocket' })
  }, handler)
  return handler
}

/** Answers a client whose body stalled before the app was asked: 408, and the connection closes. */
function bodyTimedOut (reply: FastifyReply): void {
  if (reply.sent || reply.raw.destroyed) return
  void reply.header('connection', 'close')
  reply.send(new RequestTimeoutError())
}

export function forward (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply): void {
  // RFC 9112 §9.3.2: pipelined requests are processed in order, as nginx does — a DELETE and the GET behind it
  // must not reach the app the other way round. Node binds a response to the socket only once those before it
  // are done: until then this request waits its turn (the rare case; the usual one costs one property read).
  if (reply.raw.socket === null) {
    reply.raw.once('socket', () => { forward(ctx, request, reply) })
    return
  }
  // Node sets `upgrade` only for what upgrade.ts accepted: a WebSocket handshake (GET, no body).
  if (isUpgraded(request.raw)) { dispatch(ctx, request, reply, null, true); return }
  if (!hasBody(request)) { dispatch(ctx, request, reply, null, false); return }
  let handler: ForwardHandler | undefined
  const idle: BodyTimeout = watchBodyIdle(request.raw, ctx.bodyIdleMs, () => {
    if (handler !== undefined) { handler.abort(new RequestTimeoutError()); return }
    cancel() // whatever of the body still arrives is not forwarded after the 408
    bodyTimedOut(reply)
  })
  const cancel = prepareBody(request.raw, (err, body) => {
    if (err !== null || body === undefined) { idle.stop(); return } // the client left: nobody to answer
    if (Buffer.isBuffer(body)) idle.stop()
    handler = dispatch(ctx, request, reply, body, false)
  })
}
