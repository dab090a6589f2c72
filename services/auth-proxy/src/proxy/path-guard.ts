// Refuses request targets that different parsers would read differently. The proxy decides on the path it
// received; the app must see that same path. URL normalisers (WHATWG URL in reply-from, the app's router)
// resolve dot-segments — including percent-encoded ones like %2e%2e — and some treat `\` as `/`, so such a
// path could be authorised as one thing and served as another. Nothing legitimate needs them: 400.
import { BadRequestError } from '../errors.ts'

// RFC 3986 §3.3 dot-segments, in any mix of literal and percent-encoded dots — also between encoded slashes,
// which an app that decodes %2F before routing (many do) reads as separators: /..%2fetc/passwd.
const DOT_SEGMENT = /(^|\/|%2f)(\.|%2e){1,2}(\/|%2f|$)/i
// Backslash (literal or encoded) and NUL: path separators or terminators to some backends.
const AMBIGUOUS = /\\|%5c|%00/i
// A `%` not followed by two hex digits.
const BAD_PERCENT = /%(?![0-9a-f]{2})/i

/** The reason a path is refused, or undefined when it is safe to forward verbatim. */
export function unsafePathReason (url: string): string | undefined {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (!path.startsWith('/')) return 'not an origin-form path' // absolute-form and `*` are not for an app
  if (BAD_PERCENT.test(path)) return 'malformed percent-encoding'
  if (DOT_SEGMENT.test(path)) return 'dot-segment'
  if (AMBIGUOUS.test(path)) return 'backslash or NUL'
  return undefined
}

export function rejectUnsafePath (url: string): Error | undefined {
  return unsafePathReason(url) === undefined ? undefined : new BadRequestError()
}
