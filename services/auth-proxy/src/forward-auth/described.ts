// The request an ingress asks about, read from the check request's headers: Traefik's and Caddy's
// X-Forwarded-Method / -Proto / -Host / -Uri, ingress-nginx's and nginx's X-Original-URL / X-Original-URI /
// X-Original-Method. Believed only from TRUST_PROXY peers: from anyone else they describe nothing and the check
// fails closed (oauth2-proxy GHSA-7x63-xv5r-3p2x: X-Forwarded-Uri from a client skipped its rules). Two
// descriptions that disagree — a client adding X-Forwarded-Uri that an nginx only setting X-Original-URL passes on
// — are refused rather than one of them picked. The path then meets the same guard as a request's own
// (request-guard.ts): dot-segments, backslashes, bad escapes and fragments are 400.
import type { FastifyRequest } from 'fastify'
import type { Described } from '../authz/policy.ts'
import { CheckRequestError, UntrustedCheckError } from '../errors.ts'
import { unsafePathReason } from '../proxy/request-guard.ts'
import { canonicalHost, HOST_FIELD } from '../util/net.ts'
import { pathOf } from '../util/url.ts'

/** The described request, and what a login needs to send the browser back to it. */
export interface Forwarded extends Described {
  readonly proto: 'http' | 'https'
  /** The path and query as the browser asked for them. */
  readonly uri: string
}

const METHOD_RE = /^[A-Z]+$/
const HOST_RE = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/
const ABSOLUTE_RE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/is

// What a described value may hold: printable ASCII without spaces (a request target, a method, a host). Node joins
// repeated fields with ", ", so a space is also how a second copy would show.
const TOKEN_RE = /^[\x21-\x7e]+$/

/** One header's value, if present: a repeated header (an ingress adding its copy beside a client's) is refused. */
function single (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  if (value === undefined) return undefined
  const raw = request.raw.rawHeaders
  let copies = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) copies++
  const text = Array.isArray(value) ? '' : value.trim()
  if (copies > 1 || !TOKEN_RE.test(text)) throw new CheckRequestError()
  return text
}

/** Every source that was given, all equal, or undefined when none was; a disagreement is refused. */
function agreed (values: ReadonlyArray<string | undefined>): string | undefined {
  const given = values.filter((v): v is string => v !== undefined && v !== '')
  if (given.some((v) => v !== given[0])) throw new CheckRequestError()
  return given[0]
}

/** X-Original-URL is absolute (ingress-nginx: $scheme://$host$request_uri) or a path: its parts, kept raw. */
function splitUrl (value: string | undefined): { proto?: string | undefined, host?: string | undefined, uri?: string | undefined } {
  if (value === undefined) return {}
  const m = ABSOLUTE_RE.exec(value)
  // Not parsed with URL: WHATWG URL resolves dot-segments, and the raw path is what must be checked.
  if (m === null) return { uri: value }
  return { proto: m[1]?.toLowerCase(), host: m[2]?.toLowerCase(), uri: m[3] === '' ? '/' : m[3] }
}

/** The request the ingress describes; throws the error to answer with. */
export function describeForwarded (request: FastifyRequest): Forwarded {
  if (!request.fromTrustedProxy) throw new UntrustedCheckError()
  const original = splitUrl(single(request, 'x-original-url'))
  const uri = agreed([single(request, 'x-forwarded-uri'), single(request, 'x-original-uri'), original.uri])
  const method = agreed([single(request, 'x-forwarded-method'), single(request, 'x-original-method')])?.toUpperCase() ?? request.method
  // No fallback to the check's own Host: that is the proxy's, not the app's, and a rule for the app's host must not
  // be decided on it. An ingress that names no host is refused.
  const host = agreed([single(request, 'x-forwarded-host')?.toLowerCase(), original.host])
  const proto = agreed([single(request, 'x-forwarded-proto')?.toLowerCase(), original.proto]) ?? request.protocol
  if (uri === undefined || host === undefined || !METHOD_RE.test(method) || !HOST_RE.test(host) || !HOST_FIELD.test(host) || (proto !== 'http' && proto !== 'https')) throw new CheckRequestError()
  if (unsafePathReason(uri) !== undefined) throw new CheckRequestError()
  return { method, host: canonicalHost(host), path: pathOf(uri), proto, uri }
}

/** The described request's host as the browser wrote it (with its port), for building its URL again. */
export function describedOrigin (request: FastifyRequest, described: Forwarded): string {
  const host = single(request, 'x-forwarded-host') ?? splitUrl(single(request, 'x-original-url')).host ?? described.host
  return `${described.proto}://${host}`
}
