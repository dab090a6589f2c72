// One JSON line per request: method, path (no query: it may carry tokens), status, duration and user.
// Never headers, so never an Authorization header, a cookie or a password. Replaces Fastify's two
// lines (incoming/completed) through its LogController extension point.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { pathOf } from './log.ts'
import type { ProxyMetrics } from './metrics.ts'

export class RequestLogController extends LogController {
  readonly #metrics: ProxyMetrics

  constructor (metrics: ProxyMetrics) {
    super()
    this.#metrics = metrics
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      path: pathOf(request.url),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      user: request.identity?.user,
      client: request.clientAddress,
      ...(request.authFailure !== null && { auth: request.authFailure }),
      // The response broke after it started (e.g. the upstream died mid-body): the status alone would lie.
      ...(error != null && { aborted: (error as NodeJS.ErrnoException).code ?? error.name })
    }
    if (error != null) {
      request.log.warn(line, 'request aborted')
      this.#metrics.upstreamError('aborted')
    } else {
      request.log.info(line, 'request')
    }
    this.#metrics.requestCompleted(request.method, reply.statusCode, reply.elapsedTime / 1000)
    if (request.authFailure !== null) this.#metrics.authFailure(request.authFailure)
  }
}
