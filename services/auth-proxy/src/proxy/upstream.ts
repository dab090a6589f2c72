// The connection pool to the app and the mapping of its failures to coded errors, in one place (like
// reply-from's onError): no ad-hoc try/catch elsewhere.
import { Pool } from 'undici'
import type { Config } from '../config.ts'
import { BadGatewayError, causeCodes, UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts'

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT', 'ETIMEDOUT'])
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

export function upstreamError (err: unknown): Error {
  switch (classifyUpstreamError(err)) {
    case 'timeout': return new UpstreamTimeoutError({ cause: err })
    case 'unavailable': return new UpstreamUnavailableError({ cause: err })
    default: return new BadGatewayError({ cause: err })
  }
}

export const UPSTREAM_MAX_CONNECTIONS = 128

export function createUpstreamPool (upstream: Config['upstream']): Pool {
  return new Pool(upstream.url, {
    connections: UPSTREAM_MAX_CONNECTIONS,
    pipelining: 1, // pipelining to an arbitrary app is unsafe (head-of-line, non-idempotent retries)
    connect: { timeout: upstream.connectTimeoutMs },
    headersTimeout: upstream.timeoutMs,
    bodyTimeout: upstream.timeoutMs
  })
}
