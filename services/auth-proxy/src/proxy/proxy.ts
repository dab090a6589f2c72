// Forwarding to the app: @fastify/http-proxy (reply-from on an undici pool), with our header rules,
// error mapping and the raw query string.
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { rewriteRequestHeaders, rewriteResponseHeaders, type ForwardingOptions } from './headers.ts'
import { createUpstreamPool, upstreamError } from './upstream.ts'

/**
 * Every method Fastify routes, except TRACE (it would echo the client's credentials back, the XST attack)
 * and CONNECT (a tunnel past the app). Those get 405 from the not-found handler.
 */
export const FORWARDED_METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'])

export interface ProxyPluginOptions {
  readonly upstream: Config['upstream']
  readonly forwarding: ForwardingOptions
}

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

  const proxyOptions: FastifyHttpProxyOptions = {
    upstream: opts.upstream.url,
    httpMethods: [...FORWARDED_METHODS],
    undici: pool,
    disableRequestLogging: true, // request-log.ts writes the one line per request
    replyOptions: {
      rewriteRequestHeaders: (request, headers) =>
        rewriteRequestHeaders(request, headers, request.identity?.user, opts.forwarding),
      rewriteHeaders: (headers) => rewriteResponseHeaders(headers),
      onError: (reply, { error }) => { reply.send(upstreamError(error)) },
      onResponse: (_request, reply, res) => {
        // reply-from calls this even after it answered with an error itself (e.g. an invalid upstream status
        // code): then the upstream body must be destroyed, or its socket is never released.
        if (reply.sent) res.stream.destroy()
        else reply.send(res.stream)
      },
      queryString: rawQuery,
      // A proxy must not replay requests on its own: reply-from would retry GETs on 503 otherwise.
      retryDelay: () => null
    }
  }
  await app.register(httpProxy, proxyOptions)
}

export default fp(proxyPlugin, { name: 'auth-proxy-forwarding', fastify: '5.x' })
