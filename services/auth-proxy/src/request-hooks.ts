// What every request on the public port goes through before authentication: who is at the other end (and,
// behind a TRUST_PROXY router, who it says the client is), in-flight accounting for graceful shutdown, and the
// request guard; and, on the way out, Connection: close when the connection must end.
import proxyAddr from '@fastify/proxy-addr'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ProxyMetrics } from './metrics.ts'
import { rejectUnsafeRequest } from './proxy/request-guard.ts'
import { closesConnection, isUpgraded } from './proxy/upgrade.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The client's address — behind a TRUST_PROXY router, the one it reports — captured when the request
     * arrives: by the time the response finishes the socket may already be gone (request.socket is null).
     */
    clientAddress: string
    /** The address of the connection's other end (the router, when there is one). */
    peerAddress: string
    /** True when the connection comes from a TRUST_PROXY address, whose X-Forwarded-* are kept and extended. */
    fromTrustedProxy: boolean
  }
}

/** Called when a client leaves before anything was answered, e.g. while it was being authenticated. */
export type ClientClosed = (request: FastifyRequest, reply: FastifyReply) => void

export function installRequestHooks (app: FastifyInstance, trustProxy: readonly string[], metrics: ProxyMetrics, clientClosed: ClientClosed): void {
  const trusted = trustProxy.length > 0 ? proxyAddr.compile([...trustProxy]) : () => false
  app.decorateRequest('clientAddress', '')
  app.decorateRequest('peerAddress', '')
  app.decorateRequest('fromTrustedProxy', false)
  app.addHook('onRequest', (request, reply, done) => {
    request.peerAddress = request.socket.remoteAddress ?? ''
    request.clientAddress = request.ip
    request.fromTrustedProxy = trusted(request.peerAddress, 0)
    if (!isUpgraded(request.raw)) {
      // WebSocket handshakes are counted apart, as tunnels: their response stays open as long as the tunnel.
      metrics.inFlight++
      reply.raw.once('close', () => {
        metrics.inFlight--
        // Gone before any answer — during a slowed login check, say: still a request, logged (499) and counted.
        if (!reply.sent && !reply.raw.headersSent) clientClosed(request, reply)
      })
    }
    // Before authentication, as nginx does: a malformed request is refused whoever sends it, and its connection
    // is not trusted with another.
    const refused = rejectUnsafeRequest(request)
    if (refused !== undefined) void reply.header('connection', 'close')
    done(refused)
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    // Shutting down: every answer, including those of requests already under way, ends its connection; so does
    // the answer to a declined upgrade (upgrade.ts).
    if (app.draining || closesConnection(request.raw)) void reply.header('connection', 'close')
    done(null, payload)
  })
}
