// The one place errors become responses: a short body with the stable code and the request id, in the
// format the client asked for, and never a stack trace or an upstream's internal message.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BadRequestError, causeCodes, InternalError, MethodNotAllowedError, NotFoundError } from './errors.ts'
import { ERROR_PAGE_CSP, errorPage } from './error-pages.ts'
import { FORWARDED_METHODS } from './proxy/request-guard.ts'

interface PublicError {
  statusCode: number
  code: string
  message: string
  /** For the browser's page: when to try again, who is signed in. */
  retryAfterSeconds?: number
  user?: string
}

const OUR_CODE = /^AUTH_PROXY_ERR_/
const INTERNAL_CODE = new InternalError().code
const METHOD_NOT_ALLOWED_CODE = new MethodNotAllowedError().code
/** RFC 9110 §15.5.6: a 405 lists the methods the target supports. */
const ALLOW = FORWARDED_METHODS.join(', ')

/** Maps any error to what the client may see. Unknown errors become a bare 500 / client errors a bare 400. */
function toPublic (err: FastifyError): PublicError {
  const statusCode = err.statusCode ?? 500
  if (typeof err.code === 'string' && OUR_CODE.test(err.code)) return { statusCode, code: err.code, message: err.message }
  if (statusCode === 401 && err.code === 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER') {
    return { statusCode, code: 'AUTH_PROXY_ERR_UNAUTHORIZED', message: 'Authentication required' }
  }
  if (statusCode >= 400 && statusCode < 500) {
    // Fastify's own client errors (bad URL, header too large, …): keep the status, hide the internals.
    const fallback = new BadRequestError()
    return { statusCode, code: fallback.code, message: fallback.message }
  }
  const internal = new InternalError()
  return { statusCode: 500, code: internal.code, message: internal.message }
}

export function sendError (request: FastifyRequest, reply: FastifyReply, error: PublicError): void {
  const accept = request.headers.accept ?? ''
  reply.code(error.statusCode)
  if (error.code === METHOD_NOT_ALLOWED_CODE) void reply.header('allow', ALLOW)
  if (accept.includes('application/json')) {
    void reply.type('application/json; charset=utf-8')
      .send(JSON.stringify({ statusCode: error.statusCode, code: error.code, message: error.message, requestId: request.id }))
  } else if (accept.includes('text/html')) {
    const user = error.user ?? request.identity?.user
    const signOutPath = request.server.signOutPath
    void reply.type('text/html; charset=utf-8').header('content-security-policy', ERROR_PAGE_CSP).header('cache-control', 'no-store')
      .send(errorPage({
        statusCode: error.statusCode, code: error.code, message: error.message, requestId: request.id,
        ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
        ...(user !== undefined && { user }),
        ...(signOutPath !== undefined && { signOutPath })
      }))
  } else {
    void reply.type('text/plain; charset=utf-8').send(`${error.statusCode} ${error.message} (${error.code}, request ${request.id})\n`)
  }
}

/** Logs what an operator needs and answers the client. Upstream failures are operational, not bugs: no stack. */
export function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const error = toPublic(err)
  // The one place Retry-After is set (RFC 9110 §10.2.3): from errors made with errors.ts retryAfter().
  const retry = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds
  if (typeof retry === 'number') {
    void reply.header('retry-after', String(retry))
    error.retryAfterSeconds = retry
  }
  const user = (err as { user?: unknown }).user
  if (typeof user === 'string') error.user = user
  if (error.code === INTERNAL_CODE) request.log.error({ err }, 'request failed')
  else if (error.statusCode >= 500) request.log.warn({ code: error.code, cause: causeCodes(err).at(-1) }, 'request failed')
  sendError(request, reply, error)
}


declare module 'fastify' {
  interface FastifyInstance {
    /** The sign-out page (OpenID Connect), linked from the browser's 403 page; undefined without OIDC. */
    signOutPath: string | undefined
  }
}

/** `forwarding`: every path is routed for every forwarded method (sidecar), so what is not routed is a method. */
export function installErrorHandling (app: FastifyInstance, forwarding: boolean): void {
  app.decorate('signOutPath', undefined)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) => {
    // Sidecar: the method is not forwarded. Forward-auth: no app behind, so anything not the proxy's own is nobody's.
    const err = forwarding ? new MethodNotAllowedError() : new NotFoundError()
    sendError(request, reply, { statusCode: err.statusCode, code: err.code, message: err.message })
  })
}
