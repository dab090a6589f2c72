// HTTP forwarding on the hot path: one undici request per client request, headers rewritten once, bodies
// streamed both ways. (WebSockets stay with @fastify/http-proxy, see proxy.ts.) Leaner than going through
// reply-from, which rebuilds a URL, re-serialises the query and copies headers twice per request.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Pool } from 'undici'
import type { ProxyMetrics } from '../metrics.ts'
import { connectionListed, rewriteRequestHeaders, rewriteResponseHeaders, type ForwardingOptions } from './headers.ts'
import { upstreamError, type UpstreamState } from './upstream.ts'
import { BadGatewayError } from '../errors.ts'

export interface ForwardContext {
  readonly pool: Pool
  readonly forwarding: ForwardingOptions
  readonly state: UpstreamState
  readonly metrics: ProxyMetrics
}

/** RFC 9112 §6: a request has a body when it says so by Content-Length (non-zero) or Transfer-Encoding. */
function hasBody (request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

function fail (ctx: ForwardContext, reply: FastifyReply, err: unknown): void {
  if (reply.sent || reply.raw.destroyed) return
  const mapped = upstreamError(err, ctx.state)
  ctx.metrics.upstreamError(mapped.kind)
  if (mapped.retryAfterSeconds !== undefined) void reply.header('retry-after', String(mapped.retryAfterSeconds))
  reply.send(mapped.error)
}

export function forward (ctx: ForwardContext, request: FastifyRequest, reply: FastifyReply): void {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers }
  // RFC 9110 §7.6.1: what the client lists in Connection goes first, so it can never strip the proxy's own fields.
  for (const name of connectionListed(headers)) headers[name] = undefined
  rewriteRequestHeaders(request, headers, request.identity, ctx.forwarding)
  ctx.pool.request({
    // The path and query exactly as received: the path guard has already refused anything ambiguous.
    path: request.url,
    method: request.method,
    headers,
    body: hasBody(request) ? request.raw : null
  }, (err, res) => {
    if (err !== null) { fail(ctx, reply, err); return }
    ctx.state.seen = true
    if (reply.raw.destroyed) { res.body.destroy(); return } // the client left while the app was answering
    try {
      reply.code(res.statusCode)
    } catch (codeErr) {
      // A status HTTP cannot relay (e.g. 999): release the app's connection, answer 502.
      res.body.destroy()
      fail(ctx, reply, new BadGatewayError({ cause: codeErr }))
      return
    }
    const responseHeaders = rewriteResponseHeaders(res.headers as Record<string, unknown>)
    for (const [name, value] of Object.entries(responseHeaders)) {
      if (value !== undefined) void reply.header(name, value)
    }
    reply.send(res.body)
  })
}
