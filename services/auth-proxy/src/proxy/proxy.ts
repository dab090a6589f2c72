// Forwarding to the app: one route for every path and forwarded method, one handler (forward.ts) for plain HTTP
// and WebSocket upgrades alike, behind the same hooks (request guard, authentication). No other route, plugin or
// library forwards anything: @fastify/http-proxy was removed because its WebSocket mode answered the client's
// handshake itself before asking the app, and a request with an Upgrade header Node did not take as an upgrade
// went through @fastify/reply-from with the client's headers untouched (docs/security.md).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import type { ProxyMetrics } from '../metrics.ts'
import { BodyReclaimer } from './body-reclaim.ts'
import { forward, type ForwardContext } from './forward.ts'
import type { ForwardingOptions } from './headers.ts'
import { FORWARDED_METHODS } from './request-guard.ts'
import type { Tunnels, TunnelSummary } from './tunnel.ts'
import { installUpgrades, isUpgraded } from './upgrade.ts'
import { createUpstreamPool, type UpstreamState } from './upstream.ts'

export interface ProxyPluginOptions {
  readonly upstream: Config['upstream']
  readonly client: Config['client']
  readonly forwarding: ForwardingOptions
  readonly state: UpstreamState
  readonly metrics: ProxyMetrics
  readonly tunnels: Tunnels
  /** Logs a response that broke after its headers went out (the request log's streamError). */
  readonly streamError: ForwardContext['streamError']
  readonly clientClosed: ForwardContext['clientClosed']
  /** The tunnel's handshake (101) counted, and its one log line when it ends (the request log). */
  readonly tunnelOpened: (request: FastifyRequest, reply: FastifyReply) => void
  readonly tunnelEnded: (request: FastifyRequest, reply: FastifyReply, summary: TunnelSummary) => void
}

/** Node's http server's own pattern for `Expect: 100-continue` (lib/_http_server.js). */
const EXPECT_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const proxyPlugin: FastifyPluginAsync<ProxyPluginOptions> = async (app, opts) => {
  // RFC 9110 §10.1.1: the proxy answers `Expect: 100-continue` itself — but only once the client is
  // authenticated, so nobody uploads a large body just to be told 401. Node would otherwise send 100 at once.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  app.addHook('preHandler', (request, reply, done) => {
    // Node's own test for the expectation (the one that routed the request to checkContinue); never on a
    // WebSocket handshake, whose answer is the app's 101 or refusal.
    const expect = request.headers.expect
    if (expect !== undefined && EXPECT_CONTINUE.test(expect) && !isUpgraded(request.raw)) reply.raw.writeContinue()
    done()
  })

  installUpgrades(app)
  const pool = createUpstreamPool(opts.upstream)
  const uploadPool = createUpstreamPool(opts.upstream)
  app.addHook('onClose', async () => {
    opts.tunnels.endAll()
    await Promise.all([pool.destroy(), uploadPool.destroy()])
  })
  const context: ForwardContext = {
    pool,
    uploadPool,
    forwarding: opts.forwarding,
    state: opts.state,
    metrics: opts.metrics,
    bodyIdleMs: opts.client.bodyTimeoutMs,
    tunnel: { tunnels: opts.tunnels, idleMs: opts.client.websocketIdleMs, tunnelOpened: opts.tunnelOpened, tunnelEnded: opts.tunnelEnded },
    streamError: opts.streamError,
    clientClosed: opts.clientClosed,
    reclaim: new BodyReclaimer()
  }
  for (const url of ['/', '/*']) {
    app.route({ method: [...FORWARDED_METHODS], url, handler: (request, reply) => { forward(context, request, reply) } })
  }
}

export default fp(proxyPlugin, { name: 'auth-proxy-forwarding', fastify: '5.x' })
