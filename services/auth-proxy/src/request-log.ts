// One JSON line per request: method, path (no query: it may carry tokens), status, duration and user.
// Never headers, so never an Authorization header, a cookie or a password. Replaces Fastify's two
// lines (incoming/completed) through its LogController extension point, and feeds the request metrics.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { pathOf } from './util/url.ts'
import type { ProxyMetrics } from './metrics.ts'
import type { TunnelSummary } from './proxy/tunnel.ts'

const INFO_OR_LOWER = new Set(['info', 'debug', 'trace'])
/** nginx's status for a request whose client closed the connection before it was answered. */
const CLIENT_CLOSED_STATUS = 499

export class RequestLogController extends LogController {
  readonly #metrics: ProxyMetrics
  /** Requests already logged as aborted, so the completion that may follow does not log them twice. */
  readonly #aborted = new WeakSet<FastifyRequest>()

  constructor (metrics: ProxyMetrics) {
    super()
    this.#metrics = metrics
  }

  override incomingRequest (): void {}

  /** The response body broke after its headers were sent (upstream died or stalled, or the client left). */
  override streamError (error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.#aborted.has(request)) return
    this.#aborted.add(request)
    this.#write(request, reply, (error as NodeJS.ErrnoException).code ?? error.name)
    this.#metrics.upstreamError('aborted')
  }

  /**
   * The client closed its connection before the answer was complete (it navigated away, a script timed out). The
   * app may well have acted on the request, so it is logged — with nginx's 499 when nothing was answered yet, else
   * the status that had gone out — and counted.
   */
  clientClosed (request: FastifyRequest, reply: FastifyReply): void {
    if (this.#aborted.has(request)) return
    this.#aborted.add(request)
    const status = reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED_STATUS
    this.#metrics.requestCompleted(request.method, status, reply.elapsedTime / 1000)
    if (!INFO_OR_LOWER.has(request.log.level)) return
    request.log.info({ ...this.#line(request, reply), status, aborted: 'client closed' }, 'request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.#aborted.has(request)) return
    if (error != null) {
      this.#aborted.add(request)
      this.#metrics.upstreamError('aborted')
    }
    this.#write(request, reply, error != null ? (error as NodeJS.ErrnoException).code ?? error.name : undefined)
  }

  #line (request: FastifyRequest, reply: FastifyReply): Record<string, unknown> {
    return {
      method: request.method,
      path: pathOf(request.url),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      user: request.identity?.user,
      client: request.clientAddress,
      ...(request.authFailure !== null && { auth: request.authFailure }),
      // Which rule decided, and how (public, allow, deny): every decision is in the log.
      ...(request.authz !== null && { rule: request.authz.rule, authz: request.authz.decision }),
      // Forward-auth: the request the ingress asked about (its path without the query, like ours).
      ...(request.authz?.checked !== undefined && { checked: { method: request.authz.checked.method, host: request.authz.checked.host, path: request.authz.checked.path } })
    }
  }

  /** A WebSocket handshake the app accepted: counted as a request (status 101) now, logged when the tunnel ends. */
  tunnelOpened (request: FastifyRequest, reply: FastifyReply): void {
    this.#metrics.requestCompleted(request.method, 101, reply.elapsedTime / 1000)
  }

  /** One line per tunnel, when it ends: who closed it, how long it lasted, what went through (never the query). */
  tunnelEnded (request: FastifyRequest, _reply: FastifyReply, summary: TunnelSummary): void {
    this.#metrics.tunnelEnded(summary.closedBy)
    if (!INFO_OR_LOWER.has(request.log.level)) return
    request.log.info({
      method: request.method,
      path: pathOf(request.url),
      status: 101,
      user: request.identity?.user,
      client: request.clientAddress,
      ...summary
    }, 'websocket')
  }

  #write (request: FastifyRequest, reply: FastifyReply, aborted: string | undefined): void {
    this.#metrics.requestCompleted(request.method, reply.statusCode, reply.elapsedTime / 1000)
    if (request.authFailure !== null) this.#metrics.authFailure(request.authFailure)
    if (request.authz?.decision === 'deny') this.#metrics.authzDenied()
    // Build the line only when it will be written (LOG_LEVEL=warn drops successful ones).
    if (aborted === undefined && !INFO_OR_LOWER.has(request.log.level)) return
    const line = {
      ...this.#line(request, reply),
      // The status alone would lie: the client got a broken response, not a complete one.
      ...(aborted !== undefined && { aborted })
    }
    if (aborted !== undefined) request.log.warn(line, 'request aborted')
    else request.log.info(line, 'request')
  }
}
