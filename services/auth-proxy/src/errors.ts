// Every error the proxy can produce, in one module. Two kinds:
//   - coded errors: what a client or an operator sees, each with a stable code (AUTH_PROXY_ERR_…) and a status.
//     Codes are part of the public interface — in response bodies, logs and start-up messages — and each is
//     documented in docs/errors.md; ERROR_CODES is filled by `coded()` itself, so no code can skip the docs test;
//   - domain errors: what the credential methods report to the code that answers (AccessDenied,
//     BackendUnavailable, InvalidBearer); never shown as such, each mapped to a coded error where it is answered.
// "A backend could not decide" becomes 503 with Retry-After in one place: errors carry `retryAfterSeconds` and
// the error handler sets the header (error-handler.ts).
import createError, { type FastifyErrorConstructor } from '@fastify/error'

const codes: string[] = []

/** A coded error class (@fastify/error), registered for ERROR_CODES. */
function coded (code: string, message: string, statusCode: number): FastifyErrorConstructor<{ code: string, statusCode: number }> {
  codes.push(code)
  return createError(code, message, statusCode)
}

/** Invalid or missing settings at start-up; the message lists every problem, each naming its variable. */
export const ConfigError = coded('AUTH_PROXY_ERR_CONFIG', 'invalid configuration:\n%s', 500)

/** A credentials source (htpasswd file, password file) could not be read or parsed at start-up. */
export const CredentialsLoadError = coded('AUTH_PROXY_ERR_CREDENTIALS_LOAD', '%s', 500)

/** AUTHZ_RULES_FILE cannot be read or is not a valid rules file at start-up (later versions: refused, old rules kept). */
export const RulesLoadError = coded('AUTH_PROXY_ERR_RULES_LOAD', '%s', 500)

/** TLS_CERT_FILE / TLS_KEY_FILE cannot be read, or are not a matching certificate and key. */
export const TlsLoadError = coded('AUTH_PROXY_ERR_TLS_LOAD', '%s', 500)

/** No, malformed or wrong credentials. Deliberately one error for all three: never say which part was wrong. */
export const UnauthorizedError = coded('AUTH_PROXY_ERR_UNAUTHORIZED', 'Authentication required', 401)

/** Authenticated, but not allowed in (OpenID Connect: e-mail domain or groups not in the allow-lists). */
export const ForbiddenError = coded('AUTH_PROXY_ERR_FORBIDDEN', 'Forbidden', 403)

/** The OpenID Connect login could not be completed: unknown or expired state, a mismatch, an error from the provider. */
export const LoginFailedError = coded('AUTH_PROXY_ERR_LOGIN_FAILED', 'Login failed; please start again', 400)

/** A state-changing request to the proxy's own endpoints (logout) without a valid CSRF token or from another origin. */
export const CsrfError = coded('AUTH_PROXY_ERR_CSRF', 'Invalid or missing CSRF token', 403)

/** A path under AUTH_PATH_PREFIX that is not one of the proxy's endpoints (the prefix is never forwarded). */
export const NotFoundError = coded('AUTH_PROXY_ERR_NOT_FOUND', 'Not found', 404)

/** A forward-auth check from a peer not in TRUST_PROXY: whatever it describes is not believed, so nothing is allowed. */
export const UntrustedCheckError = coded('AUTH_PROXY_ERR_CHECK_UNTRUSTED', 'Checks are answered only for the ingress (TRUST_PROXY)', 403)

/** A forward-auth check that describes no request, or two that disagree (X-Forwarded-Uri vs X-Original-URL, …). */
export const CheckRequestError = coded('AUTH_PROXY_ERR_CHECK_REQUEST', 'The check does not describe one request', 400)

/** The client failed authentication too often; it may try again after Retry-After seconds. */
export const TooManyFailuresError = coded('AUTH_PROXY_ERR_TOO_MANY_FAILURES', 'Too many failed logins; try again later', 429)

/** The request cannot be forwarded as sent (malformed percent-encoding, dot-segments in the path, …). */
export const BadRequestError = coded('AUTH_PROXY_ERR_BAD_REQUEST', 'Bad request', 400)

/** The client took longer than CLIENT_HEADER_TIMEOUT / CLIENT_REQUEST_TIMEOUT to send its request, or paused its body longer than CLIENT_BODY_TIMEOUT. */
export const RequestTimeoutError = coded('AUTH_PROXY_ERR_REQUEST_TIMEOUT', 'Request timeout', 408)

/** Part of the request is larger than the proxy accepts (e.g. a chunk extension over Node.js' 16 KiB limit). */
export const PayloadTooLargeError = coded('AUTH_PROXY_ERR_PAYLOAD_TOO_LARGE', 'Payload too large', 413)

/** The request line and headers together exceed Node.js' limit (16 KiB by default, --max-http-header-size). */
export const HeadersTooLargeError = coded('AUTH_PROXY_ERR_HEADERS_TOO_LARGE', 'Request header fields too large', 431)

/** The method is not forwarded (TRACE would echo credentials back; CONNECT would open a tunnel). */
export const MethodNotAllowedError = coded('AUTH_PROXY_ERR_METHOD_NOT_ALLOWED', 'Method not allowed', 405)

/** The upstream refused the connection, was unreachable, or broke the connection before answering. */
export const UpstreamUnavailableError = coded('AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE', 'Upstream unavailable', 502)

/** The app has not answered since the proxy started (it is still starting): try again after Retry-After. */
export const UpstreamStartingError = coded('AUTH_PROXY_ERR_UPSTREAM_STARTING', 'Upstream starting', 503)

/** The upstream did not connect or answer within the configured timeout. */
export const UpstreamTimeoutError = coded('AUTH_PROXY_ERR_UPSTREAM_TIMEOUT', 'Upstream timed out', 504)

/** The upstream answered with something that cannot be relayed (e.g. an invalid status code). */
export const BadGatewayError = coded('AUTH_PROXY_ERR_BAD_GATEWAY', 'Bad gateway', 502)

/** A credential backend could not decide (e.g. the LDAP directory is unreachable); never used for a wrong password. */
export const BackendUnavailableError = coded('AUTH_PROXY_ERR_BACKEND_UNAVAILABLE', 'Authentication backend unavailable', 503)

/** Anything unexpected. The body says only this; the cause goes to the log. */
export const InternalError = coded('AUTH_PROXY_ERR_INTERNAL', 'Internal error', 500)

/** All codes, for the documentation test and for error handling that must recognise our own errors. */
export const ERROR_CODES: readonly string[] = Object.freeze(codes)

/** Retry-After on a 503 from a backend that could not decide: about one directory health check away. */
export const BACKEND_RETRY_AFTER_SECONDS = 5

/** An error the client may retry after `seconds`: the error handler sends Retry-After (RFC 9110 §10.2.3). */
export function retryAfter<E extends Error> (err: E, seconds: number): E & { retryAfterSeconds: number } {
  return Object.assign(err, { retryAfterSeconds: seconds })
}

/** A credential backend could not decide (directory or provider unreachable): 503, Retry-After. */
export function backendUnavailable (cause: unknown): Error & { retryAfterSeconds: number } {
  return retryAfter(new BackendUnavailableError({ cause }), BACKEND_RETRY_AFTER_SECONDS)
}

// ---- domain errors -------------------------------------------------------------------------------------------

/**
 * The credentials are right but policy refuses the user (not in LDAP_REQUIRED_GROUPS, outside the OpenID allow-lists).
 * Basic answers it with the same 401 as a wrong password — anything else would confirm the password — and OpenID
 * Connect with 403; the log line says `auth: denied` either way.
 */
export class AccessDenied extends Error {
  override readonly name = 'AccessDenied'
  /** Who was refused, when known: the browser's 403 page says as whom one is signed in. */
  readonly user: string | undefined
  constructor (message: string, user?: string) {
    super(message)
    this.user = user
  }
}

/** A 403 that names the refused user for the page (never the log's business: the request line has it). */
export function forbidden (user: string | undefined, cause?: unknown): Error & { user?: string } {
  const err = new ForbiddenError({ cause })
  return user === undefined ? err : Object.assign(err, { user })
}

/**
 * A network backend — an LDAP directory, an OpenID provider — could not be reached or did not answer in time: it
 * could not decide, which is never "wrong password". `retryable`: another server of the same backend may answer.
 */
export class BackendUnavailable extends Error {
  override readonly name: string = 'BackendUnavailable'
  readonly retryable: boolean
  constructor (message: string, options: { cause?: unknown, retryable?: boolean } = {}) {
    super(message, { cause: options.cause })
    this.retryable = options.retryable ?? true
  }
}

/**
 * Some Basic verifiers said no and another could not decide (htpasswd beside an LDAP directory that is down): still
 * 503 — the one that could not decide might have accepted — but a guess for the failure throttle, so guessing at
 * htpasswd users does not go unthrottled while the directory is down.
 */
export class PartlyRefused extends BackendUnavailable {
  override readonly name = 'PartlyRefused'
  /** The verifiers that refused, by name. */
  readonly refusedBy: readonly string[]
  constructor (refusedBy: readonly string[], cause: unknown) {
    super(`refused by ${refusedBy.join(', ')}; the others could not decide`, { cause })
    this.refusedBy = refusedBy
  }
}

/** A bearer token that is not one of the provider's (signature, issuer, audience, expiry, algorithm). */
export class InvalidBearer extends Error {
  override readonly name = 'InvalidBearer'
}

/** A back-channel logout token that is not a valid one from the provider (signature, audience, event, nonce, replay). */
export class InvalidLogoutToken extends Error {
  override readonly name = 'InvalidLogoutToken'
}

/** Codes along an error's cause chain, outermost first (e.g. our code, undici's, then ECONNREFUSED). */
export function causeCodes (err: unknown): string[] {
  const codes: string[] = []
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}
