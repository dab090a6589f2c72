// Forwarding to the app: @fastify/http-proxy (reply-from on an undici pool) for HTTP and WebSockets, with our
// header rules, error mapping, the raw query string and `Expect: 100-continue` after authentication.
import httpProxy from '@fastify/http-proxy'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import type { ProxyMetrics } from '../metrics.ts'
import { rewriteRequestHeaders, rewriteResponseHeaders, websocketRequestHeaders, type ForwardingOptions } from './headers.ts'
import { createUpstreamPool, upstreamError, type UpstreamState } from './upstream.ts'

/**
 * Every method Fastify routes, except TRACE (it would echo the client's credentials back, the XST attack)
 * and CONNECT (a tunnel past the app). Those get 405 from the not-found handler.
 */
export const FORWARDED_METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'])

export interface ProxyPluginOptions {
  readonly upstream: Config['upstream']
  readonly forwarding: ForwardingOptions
  readonly state: UpstreamState
  readonly metrics: ProxyMetrics
  /** Open proxied WebSockets (client side), for metrics and graceful shutdown. */
  readonly websockets: Set<ProxiedSocket>
}

/** What shutdown needs of a proxied WebSocket (the client side of the link). */
export interface ProxiedSocket { close (code?: number, reason?: string): void }

/** The query exactly as the client sent it: http-proxy would re-serialise it (reordering, re-encoding). */
function rawQuery (_search: string | undefined, url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q + 1)
}

const proxyPlugin: FastifyPluginAsync<ProxyPluginOptions> = async (app, opts) => {
  const pool = createUpstreamPool(opts.upstream)
  app.addHook('onClose', async () => { await pool.destroy() })

  // Bodies are streamed, never parsed: drop Fastify's own parsers so text/plain and JSON stream like the rest.
  app.removeAllContentTypeParsers()

  // RFC 9110 §10.1.1: the proxy answers `Expect: 100-continue` itself — but only once the client is
  // authenticated, so nobody uploads a large body just to be told 401. Node would otherwise send 100 at once.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  app.addHook('preHandler', (request, reply, done) => {
    if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue()
    done()
  })

  const proxyOptions: Parameters<typeof httpProxy>[1] = {
    upstream: opts.upstream.url,
    httpMethods: [...FORWARDED_METHODS],
    undici: pool,
    disableRequestLogging: true, // request-log.ts writes the one line per request
    replyOptions: {
      rewriteRequestHeaders: (request, headers) =>
        rewriteRequestHeaders(request, headers, request.identity?.user, opts.forwarding),
      rewriteHeaders: (headers) => rewriteResponseHeaders(headers),
      onError: (reply, { error }) => {
        const mapped = upstreamError(error, opts.state)
        opts.metrics.upstreamError(mapped.kind)
        if (mapped.retryAfterSeconds !== undefined) void reply.header('retry-after', String(mapped.retryAfterSeconds))
        reply.send(mapped.error)
      },
      onResponse: (_request, reply, res) => {
        opts.state.seen = true
        // reply-from calls this even after it answered with an error itself (e.g. an invalid upstream status
        // code): then the upstream body must be destroyed, or its socket is never released.
        if (reply.sent) res.stream.destroy()
        else reply.send(res.stream)
      },
      queryString: rawQuery,
      // A proxy must not replay requests on its own: reply-from would retry GETs on 503 otherwise.
      retryDelay: () => null
    },
    // WebSockets: the upgrade request passes through the same hooks (path guard, authentication) first.
    websocket: true,
    wsClientOptions: {
      // http-proxy's own default forwards only the cookie; apps (Jupyter) also check Origin and need the
      // identity headers. The option exists at run time but is missing from http-proxy's types.
      ...({ rewriteRequestHeaders: (_headers: object, request: FastifyRequest) => websocketRequestHeaders(request, opts.forwarding) } as object),
      queryString: rawQuery
    },
    wsHooks: {
      onConnect: (_context, source) => {
        opts.state.seen = true
        const socket: ProxiedSocket = source
        opts.websockets.add(socket)
        source.once('close', () => { opts.websockets.delete(socket) })
      }
    }
  }
  await app.register(httpProxy, proxyOptions)
}

export default fp(proxyPlugin, { name: 'auth-proxy-forwarding', fastify: '5.x' })
