// Refuses, before authentication and whoever sends them, requests that different parsers would read differently.
// The proxy decides on the request it received; the app must get that same request.
//
// Paths: URL normalisers (WHATWG URL, the app's router) resolve dot-segments — including percent-encoded ones
// like %2e%2e — and some treat `\` as `/`, so such a path could be authorised as one thing and served as another.
// A fragment is never part of a request target (RFC 9112 §3.2) and some routers drop it. Nothing legitimate needs
// any of these: 400. Host: exactly one on HTTP/1.1 (RFC 9112 §3.2: none or more is a 400) — Node keeps the first
// of several, an app behind another hop might take the last — and it must be a host (util/net.ts HOST_FIELD), or the
// app's URL parser reads `x@admin.example.org` or `admin.example.org/` as the host the rules did not see. A method the proxy does not forward is left alone here: it is
// authenticated like any request and then refused with 405 (error-handler.ts), so its target (CONNECT's
// authority-form) never matters.
import type { FastifyRequest } from 'fastify'
import { BadRequestError } from '../errors.ts'
import { HOST_FIELD } from '../util/net.ts'
import { pathOf } from '../util/url.ts'

/**
 * Every method the proxy forwards. Not TRACE (it would echo the client's credentials back, the XST attack) nor
 * CONNECT (a tunnel past the app), nor anything else Node parses (WebDAV's PROPFIND…): 405.
 */
export const FORWARDED_METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'])
const FORWARDED = new Set(FORWARDED_METHODS)

// RFC 3986 §3.3 dot-segments, in any mix of literal and percent-encoded dots — also between encoded slashes,
// which an app that decodes %2F before routing (many do) reads as separators: /..%2fetc/passwd — and with a
// `;parameter`, which Tomcat and Spring strip before resolving them: /static/..;/admin.
const DOT_SEGMENT = /(^|\/|%2f)(\.|%2e){1,2}(\/|%2f|;|%3b|$)/i
// Backslash (literal or encoded) and NUL: path separators or terminators to some backends.
const AMBIGUOUS = /\\|%5c|%00/i
// A `%` not followed by two hex digits.
const BAD_PERCENT = /%(?![0-9a-f]{2})/i

function decodesAsUtf8 (path: string): boolean {
  try { decodeURIComponent(path); return true } catch { return false }
}

/** The reason a path is refused, or undefined when it is safe to forward verbatim. */
export function unsafePathReason (url: string): string | undefined {
  if (url.includes('#')) return 'fragment'
  const path = pathOf(url)
  if (!path.startsWith('/')) return 'not an origin-form path' // absolute-form and `*` are not for an app
  if (BAD_PERCENT.test(path)) return 'malformed percent-encoding'
  // Escapes that decode to no UTF-8 (%ff, %c0%af, a cut-off %e2%82): apps and servers still decode them, byte-wise,
  // to paths the rules could not read (authz/policy.ts) — nothing legitimate needs them, and Fastify's router
  // refuses them too.
  if (path.includes('%') && !decodesAsUtf8(path)) return 'percent-encoding that is not UTF-8'
  if (DOT_SEGMENT.test(path)) return 'dot-segment'
  if (AMBIGUOUS.test(path)) return 'backslash or NUL'
  return undefined
}

/** How many Host fields the request carries (Node's parsed headers keep only the first). */
export function hostCount (rawHeaders: readonly string[]): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]
    if (name !== undefined && name.length === 4 && name.toLowerCase() === 'host') count++
  }
  return count
}

/** The error to answer `request` with before anything else, or undefined when it may go on. */
export function rejectUnsafeRequest (request: Pick<FastifyRequest, 'method' | 'url' | 'raw'>): Error | undefined {
  if (!FORWARDED.has(request.method)) return undefined
  const hosts = hostCount(request.raw.rawHeaders)
  if (hosts > 1 || (hosts === 0 && request.raw.httpVersion === '1.1')) return new BadRequestError()
  const host = request.raw.headers.host
  if (host !== undefined && !HOST_FIELD.test(host)) return new BadRequestError()
  return unsafePathReason(request.url) === undefined ? undefined : new BadRequestError()
}
