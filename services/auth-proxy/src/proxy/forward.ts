// HTTP forwarding on the hot path: one undici dispatch per client request, headers rewritten once, bodies
// streamed both ways with backpressure. (WebSockets stay with @fastify/http-proxy, see proxy.ts.)
//
// Why a dispatch handler and not `pool.request` + `reply.send(stream)`: that path wraps every response body in
// a Readable, pipes it through Fastify's stream sender (end-of-stream listeners on both sides) and copies the
// headers twice — a third of the proxy's CPU per request (docs/performance.md). Here the app's status, headers
// and body chunks go straight to the client's response: once the app has answered, `writeHead` with a flat
// header list and `reply.hijack()`, then `write` per chunk, pausing the app while the client is slow. Fastify
// still logs the request (its finish listener is set up before the handler runs); what its stream sender did on
// a broken body is done here: log "request aborted" and cut the client's connection.
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Dispatcher, Pool } from 'undici'
import type { ProxyMetrics } from '../metrics.ts'
import type { BodyReclaimer } from './body-reclaim.ts'
import { connectionListed, isHopByHop, rewriteRequestHeaders, type ForwardingOptions } from './headers.ts'
import { upstreamError, type UpstreamState } from './upstream.ts'
import { BadGatewayError } from '../errors.ts'

export interface ForwardContext {
  readonly pool: Pool
  readonly forwarding: ForwardingOptions
  readonly state: UpstreamState
  readonly metrics: ProxyMetrics
  /** A response that broke after its headers went out (Fastify's LogController.streamError). */
  readonly streamError: (error: Error, request: FastifyRequest, reply: FastifyReply) => void
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

/**
 * The response's header list for `writeHead`, flat [name, value, …]: the app's fields without the hop-by-hop ones
 * and whatever the app's Connection lists (RFC 9110 §7.6.1); repeated fields (Set-Cookie) stay separate. Fields
 * the proxy set before the app answered (a renewed session's Set-Cookie) are kept unless the app sent the same
 * field; Set-Cookie from both is sent.
 */
function responseHeaders (app: Record<string, string | string[] | undefined>, own: Record<string, number | string | readonly string[] | undefined>, close: boolean): string[] {
  const listed = connectionListed(app)
  const out: string[] = []
  for (const name in own) {
    const value = own[name]
    if (value === undefined || (name !== 'set-cookie' && app[name] !== undefined)) continue
    if (typeof value === 'object') for (const v of value) out.push(name, v)
    else out.push(name, String(value))
  }
  for (const name in app) {
    const value = app[name]
    if (value === undefined || isHopByHop(name) || (listed.length > 0 && listed.includes(name))) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  // Shutting down: every answer, including those of requests already under way, ends its connection.
  if (close) out.push('connection', 'close')
  return out
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: ForwardContext
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply
  /** The request body streamed to the app, or null. */
  readonly #body: Readable | null
  /** The app's answer has started going to the client (the reply is hijacked). */
  #relaying = false
  #finished = false

  constructor (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply, body: Readable | null) {
    this.#body = body
    this.#ctx = ctx
    this.#request = request
    this.#reply = reply
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    const res = this.#reply.raw
    if (res.destroyed) { controller.abort(new ClientClosedError()); return }
    // undici attaches its own 'data' listener to the body in the same tick, right after this call.
    if (this.#body !== null) this.#ctx.reclaim.track(this.#body)
    res.once('close', () => {
      if (!this.#finished) controller.abort(new ClientClosedError())
    })
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
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
    // through the still un-hijacked reply.
    res.writeHead(statusCode, responseHeaders(headers, reply.getHeaders(), reply.server.draining))
    reply.hijack()
    this.#relaying = true
    if (res.writableNeedDrain) this.#pauseUntilDrained(controller)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#ctx.reclaim.add(chunk.length)
    if (!this.#reply.raw.write(chunk)) this.#pauseUntilDrained(controller)
  }

  onResponseEnd (): void {
    this.#finished = true
    this.#reply.raw.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#finished) return
    this.#finished = true
    const reply = this.#reply
    const res = reply.raw
    if (err instanceof ClientClosedError) return // nobody left to answer; Fastify logs the closed request
    if (this.#relaying) {
      // Headers are out: the only honest signal left is a broken connection, never a short "complete" response.
      this.#ctx.streamError(err, this.#request, reply)
      res.destroy()
      return
    }
    if (reply.sent || res.destroyed) return
    const mapped = upstreamError(err, this.#ctx.state)
    this.#ctx.metrics.upstreamError(mapped.kind)
    if (mapped.retryAfterSeconds !== undefined) void reply.header('retry-after', String(mapped.retryAfterSeconds))
    reply.send(mapped.error)
  }

  #pauseUntilDrained (controller: Dispatcher.DispatchController): void {
    controller.pause()
    this.#reply.raw.once('drain', () => { controller.resume() })
  }
}

export function forward (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply): void {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers }
  // RFC 9110 §7.6.1: what the client lists in Connection goes first, so it can never strip the proxy's own fields.
  for (const name of connectionListed(headers)) headers[name] = undefined
  rewriteRequestHeaders(request, headers, request.identity, ctx.forwarding)
  const body = hasBody(request) ? request.raw : null
  ctx.pool.dispatch({
    // The path and query exactly as received: the path guard has already refused anything ambiguous.
    path: request.url,
    method: request.method,
    headers,
    body
  }, new ForwardHandler(ctx, request, reply, body))
}
