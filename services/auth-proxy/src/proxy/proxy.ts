// Forwarding to the app: HTTP through our undici forwarder (forward.ts), WebSockets through @fastify/http-proxy,
// both behind the same hooks; `Expect: 100-continue` answered after authentication.
import httpProxy from '@fastify/http-proxy'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import type { ProxyMetrics } from '../metrics.ts'
import { BodyReclaimer } from './body-reclaim.ts'
import { forward, type ForwardContext } from './forward.ts'
import { websocketRequestHeaders, type ForwardingOptions } from './headers.ts'
import { createUpstreamPool, type UpstreamState } from './upstream.ts'

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
  /** Logs a response that broke after its headers went out (the request log's streamError). */
  readonly streamError: ForwardContext['streamError']
}

/** What shutdown needs of a proxied WebSocket (the client side of the link). */
export interface ProxiedSocket { close (code?: number, reason?: string): void }

/** The query exactly as the client sent it: http-proxy would re-serialise it (reordering, re-encoding). */
function rawQuery (_search: string | undefined, url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q + 1)
}

type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0]
/** The router's handler type, as a constraint strategy stores it. */
type RouteHandler = Parameters<ReturnType<ConstraintStrategy['storage']>['set']>[1]

const proxyPlugin: FastifyPluginAsync<ProxyPluginOptions> = async (app, opts) => {
  // Bodies are streamed, never parsed: every content type is left unread for the forwarder to stream.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })

  // RFC 9110 §10.1.1: the proxy answers `Expect: 100-continue` itself — but only once the client is
  // authenticated, so nobody uploads a large body just to be told 401. Node would otherwise send 100 at once.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  app.addHook('preHandler', (request, reply, done) => {
    if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue()
    done()
  })

  // Plain HTTP: our forwarder, on every path for every forwarded method.
  const pool = createUpstreamPool(opts.upstream)
  app.addHook('onClose', async () => { await pool.destroy() })
  const context: ForwardContext = { pool, forwarding: opts.forwarding, state: opts.state, metrics: opts.metrics, streamError: opts.streamError, reclaim: new BodyReclaimer() }
  for (const url of ['/', '/*']) {
    app.route({ method: [...FORWARDED_METHODS], url, handler: (request, reply) => { forward(context, request, reply) } })
  }

  // WebSockets: @fastify/http-proxy, on routes that only upgrade requests reach (the `upgrade` constraint).
  app.addConstraintStrategy({
    name: 'upgrade',
    storage () {
      const routes = new Map<unknown, RouteHandler>()
      return { get: (key: unknown) => routes.get(key) ?? null, set: (key: unknown, value: RouteHandler) => { routes.set(key, value) } }
    },
    deriveConstraint: (req: { headers: Record<string, unknown> }) => req.headers.upgrade === undefined ? undefined : 'websocket',
    mustMatchWhenDerived: true
  })
  const proxyOptions: Parameters<typeof httpProxy>[1] = {
    upstream: opts.upstream.url,
    httpMethods: ['GET'],
    constraints: { upgrade: 'websocket' },
    disableRequestLogging: true,
    proxyPayloads: false, // our content-type parser above already leaves bodies unread
    // The upgrade request passes through the same hooks (path guard, authentication) first.
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
