// Every error the proxy can produce, with a stable code. Codes are part of the public interface: they appear in
// response bodies and logs and are documented in docs/errors.md (a test keeps the two in step).
import createError from '@fastify/error'

/** Invalid or missing settings at start-up; the message lists every problem, each naming its variable. */
export const ConfigError = createError('AUTH_PROXY_ERR_CONFIG', 'invalid configuration:\n%s', 500)

/** A credentials source (htpasswd file, password file) could not be read or parsed at start-up. */
export const CredentialsLoadError = createError('AUTH_PROXY_ERR_CREDENTIALS_LOAD', '%s', 500)

/** TLS_CERT_FILE / TLS_KEY_FILE cannot be read, or are not a matching certificate and key. */
export const TlsLoadError = createError('AUTH_PROXY_ERR_TLS_LOAD', '%s', 500)

/** No, malformed or wrong credentials. Deliberately one error for all three: never say which part was wrong. */
export const UnauthorizedError = createError('AUTH_PROXY_ERR_UNAUTHORIZED', 'Authentication required', 401)

/** Authenticated, but not allowed in (OpenID Connect: e-mail domain or groups not in the allow-lists). */
export const ForbiddenError = createError('AUTH_PROXY_ERR_FORBIDDEN', 'Forbidden', 403)

/** The OpenID Connect login could not be completed: unknown or expired state, a mismatch, an error from the provider. */
export const LoginFailedError = createError('AUTH_PROXY_ERR_LOGIN_FAILED', 'Login failed; please start again', 400)

/** A state-changing request to the proxy's own endpoints (logout) without a valid CSRF token or from another origin. */
export const CsrfError = createError('AUTH_PROXY_ERR_CSRF', 'Invalid or missing CSRF token', 403)

/** A path under AUTH_PATH_PREFIX that is not one of the proxy's endpoints (the prefix is never forwarded). */
export const NotFoundError = createError('AUTH_PROXY_ERR_NOT_FOUND', 'Not found', 404)

/** The client failed authentication too often; it may try again after Retry-After seconds. */
export const TooManyFailuresError = createError('AUTH_PROXY_ERR_TOO_MANY_FAILURES', 'Too many failed logins; try again later', 429)

/** The request cannot be forwarded as sent (malformed percent-encoding, dot-segments in the path, …). */
export const BadRequestError = createError('AUTH_PROXY_ERR_BAD_REQUEST', 'Bad request', 400)

/** The client took longer than CLIENT_HEADER_TIMEOUT / CLIENT_REQUEST_TIMEOUT to send its request, or paused its body longer than CLIENT_BODY_TIMEOUT. */
export const RequestTimeoutError = createError('AUTH_PROXY_ERR_REQUEST_TIMEOUT', 'Request timeout', 408)

/** Part of the request is larger than the proxy accepts (e.g. a chunk extension over Node.js' 16 KiB limit). */
export const PayloadTooLargeError = createError('AUTH_PROXY_ERR_PAYLOAD_TOO_LARGE', 'Payload too large', 413)

/** The request line and headers together exceed Node.js' limit (16 KiB by default, --max-http-header-size). */
export const HeadersTooLargeError = createError('AUTH_PROXY_ERR_HEADERS_TOO_LARGE', 'Request header fields too large', 431)

/** The method is not forwarded (TRACE would echo credentials back; CONNECT would open a tunnel). */
export const MethodNotAllowedError = createError('AUTH_PROXY_ERR_METHOD_NOT_ALLOWED', 'Method not allowed', 405)

/** The upstream refused the connection, was unreachable, or broke the connection before answering. */
export const UpstreamUnavailableError = createError('AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE', 'Upstream unavailable', 502)

/** The app has not answered since the proxy started (it is still starting): try again after Retry-After. */
export const UpstreamStartingError = createError('AUTH_PROXY_ERR_UPSTREAM_STARTING', 'Upstream starting', 503)

/** The upstream did not connect or answer within the configured timeout. */
export const UpstreamTimeoutError = createError('AUTH_PROXY_ERR_UPSTREAM_TIMEOUT', 'Upstream timed out', 504)

/** The upstream answered with something that cannot be relayed (e.g. an invalid status code). */
export const BadGatewayError = createError('AUTH_PROXY_ERR_BAD_GATEWAY', 'Bad gateway', 502)

/** A credential backend could not decide (e.g. the LDAP directory is unreachable); never used for a wrong password. */
export const BackendUnavailableError = createError('AUTH_PROXY_ERR_BACKEND_UNAVAILABLE', 'Authentication backend unavailable', 503)

/** Anything unexpected. The body says only this; the cause goes to the log. */
export const InternalError = createError('AUTH_PROXY_ERR_INTERNAL', 'Internal error', 500)

/** All codes, for the documentation test and for error handling that must recognise our own errors. */
export const ERROR_CODES: readonly string[] = Object.freeze([
  ConfigError, CredentialsLoadError, TlsLoadError, UnauthorizedError, ForbiddenError, LoginFailedError, CsrfError, NotFoundError, TooManyFailuresError, BadRequestError,
  RequestTimeoutError, PayloadTooLargeError, HeadersTooLargeError, MethodNotAllowedError,
  UpstreamStartingError, UpstreamUnavailableError, UpstreamTimeoutError, BadGatewayError, BackendUnavailableError, InternalError
].map((E) => new E().code)) // the code is set per instance, not on the prototype

/** Codes along an error's cause chain, outermost first (e.g. our code, reply-from's, then ECONNREFUSED). */
export function causeCodes (err: unknown): string[] {
  const codes: string[] = []
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}
