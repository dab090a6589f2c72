// The connection pool to the app and the mapping of its failures to coded errors, in one place (like
// reply-from's onError); forward.ts applies it in its one failure path.
// The pool alone, not undici's index: that loads fetch, WebSocket, EventSource, caches and mocks eagerly (~50 ms of
// start-up; cheerio cut its import the same way). undici has no `exports` map, so this path is public to Node.
import Pool, { type BarePool } from 'undici/lib/dispatcher/pool.js'
import type { Config } from '../config.ts'
import { BadGatewayError, causeCodes, retryAfter, UpstreamStartingError, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts'
import type { UpstreamErrorKind } from '../metrics.ts'

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED'])

export type UpstreamFailure = 'timeout' | 'unavailable' | 'bad_gateway'

/** The first code along the cause chain that we recognise decides. */
export function classifyUpstreamError (err: unknown): UpstreamFailure {
  for (const code of causeCodes(err)) {
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable'
  }
  return 'bad_gateway'
}

/** What the proxy knows of the app's life: once it has answered, a refusal means "down", not "starting". */
export interface UpstreamState { seen: boolean }

/** How long a client should wait before retrying while the app is still starting. */
export const STARTING_RETRY_AFTER_SECONDS = 2

export interface MappedUpstreamError {
  readonly kind: UpstreamErrorKind
  readonly error: Error
}

export function upstreamError (err: unknown, state: UpstreamState): MappedUpstreamError {
  switch (classifyUpstreamError(err)) {
    case 'timeout': return { kind: 'timeout', error: new UpstreamTimeoutError({ cause: err }) }
    case 'unavailable':
      // Kubernetes starts the sidecar and the app together: until the app has answered once, a refused
      // connection means "not started yet" — 503 with Retry-After, which clients and browsers handle gracefully.
      if (!state.seen && causeCodes(err).includes('ECONNREFUSED')) {
        return { kind: 'starting', error: retryAfter(new UpstreamStartingError({ cause: err }), STARTING_RETRY_AFTER_SECONDS) }
      }
      return { kind: 'unavailable', error: new UpstreamUnavailableError({ cause: err }) }
    default: return { kind: 'bad_gateway', error: new BadGatewayError({ cause: err }) }
  }
}

export const UPSTREAM_MAX_CONNECTIONS = 128

export function createUpstreamPool (upstream: Config['upstream']): BarePool {
  return new Pool(upstream.url, {
    connections: UPSTREAM_MAX_CONNECTIONS,
    pipelining: 1, // pipelining to an arbitrary app is unsafe (head-of-line, non-idempotent retries)
    connect: { timeout: upstream.connectTimeoutMs },
    headersTimeout: upstream.timeoutMs,
    bodyTimeout: upstream.bodyTimeoutMs // 0: none (for long-quiet event streams)
  })
}
