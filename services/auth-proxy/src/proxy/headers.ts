// What crosses the proxy in headers, both ways.
// Header maps are dictionaries keyed by field name, so deleting computed keys is the point here.
/* eslint-disable @typescript-eslint/no-dynamic-delete */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { Identity } from '../auth/backend.ts'

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and must not be forwarded. Also
 * Proxy-Authorization, which is addressed to a proxy, never to the app.
 */
export const HOP_BY_HOP = Object.freeze([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate'
])

/**
 * Request fields the proxy consumes itself: Expect (RFC 9110 §10.1.1, answered here once authenticated)
 * and the WebSocket handshake (RFC 6455 §4.1), which the proxy's own client makes afresh to the app.
 */
const CONSUMED = Object.freeze(['expect', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions',
  'sec-websocket-protocol', 'sec-websocket-accept'])

/** Header names listed in a Connection field (RFC 9110 §7.6.1), lower-cased. */
export function connectionListed (headers: IncomingHttpHeaders | Record<string, unknown>): string[] {
  const value = headers.connection
  if (typeof value !== 'string') return []
  return value.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
}

/** Backends (CGI, WSGI, PHP) fold `-` and `_` together, so X_Forwarded_User must die with X-Forwarded-User. */
function normaliseName (name: string): string {
  return name.toLowerCase().replaceAll('_', '-')
}

export interface ForwardingOptions {
  /** USER_HEADER as configured, e.g. X-Forwarded-User. */
  readonly userHeader: string
  /** GROUPS_HEADER as configured, e.g. X-Forwarded-Groups. */
  readonly groupsHeader: string
  /** EMAIL_HEADER as configured, e.g. X-Forwarded-Email. */
  readonly emailHeader: string
  /** SESSION_COOKIE_NAME when OpenID Connect is on: the proxy's own cookies are removed before forwarding. */
  readonly sessionCookie?: string
  readonly forwardAuthorization: boolean
}

/** Where OIDC_PASS_ACCESS_TOKEN puts the user's access token (oauth2-proxy's name); always stripped from clients. */
export const ACCESS_TOKEN_HEADER = 'x-forwarded-access-token'

/** Normalised names of every client field the proxy drops or owns, computed once per configuration. */
const strippedCache = new WeakMap<ForwardingOptions, ReadonlySet<string>>()
function strippedNames (options: ForwardingOptions): ReadonlySet<string> {
  let names = strippedCache.get(options)
  if (names === undefined) {
    names = new Set([...HOP_BY_HOP, ...CONSUMED, normaliseName(options.userHeader), normaliseName(options.groupsHeader),
      normaliseName(options.emailHeader), ACCESS_TOKEN_HEADER, 'x-forwarded-for', 'x-forwarded-host',
      'x-forwarded-proto', 'x-real-ip', 'forwarded'].map(normaliseName))
    strippedCache.set(options, names)
  }
  return names
}

/** The Cookie header without `name`, its chunks `name_0…` and login cookies `name_login_…`. */
export function withoutOwnCookies (cookie: string, name: string): string {
  return cookie.split(';').map((pair) => pair.trim()).filter((pair) => {
    const eq = pair.indexOf('=')
    const cookieName = (eq < 0 ? pair : pair.slice(0, eq)).trim()
    const own = cookieName === name || (cookieName.startsWith(`${name}_`) && /^(\d+|login_.*)$/.test(cookieName.slice(name.length + 1)))
    return pair !== '' && !own
  }).join('; ')
}

/** uri-host [":" port] (RFC 3986 §3.2) in the characters a DNS name, an IPv4 or a bracketed IPv6 uses. */
const AUTHORITY_RE = /^[A-Za-z0-9.\-_~[\]:%]+$/

/** RFC 7239 §6: IPv6 addresses are bracketed and, containing ':', the value must be quoted. */
function forwardedNode (address: string): string {
  return address.includes(':') ? `"[${address}]"` : address
}

/** Characters a group name may not contain in the list: the separator, and what a header value cannot carry. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNLISTABLE_RE = /[,\x00-\x1f\x7f]/

/**
 * GROUPS_HEADER's value: names joined by "," (as oauth2-proxy does). A name containing "," or a control
 * character cannot be listed unambiguously and is left out rather than split into two groups.
 */
export function groupsValue (groups: readonly string[] | undefined): string | undefined {
  const listable = groups?.filter((g) => g !== '' && !UNLISTABLE_RE.test(g))
  return listable === undefined || listable.length === 0 ? undefined : listable.join(',')
}

/**
 * Builds the upstream request's headers from the client's, in place. The caller has already removed what the
 * client's `Connection` field lists (forward.ts, websocketRequestHeaders), so whatever is set here cannot be
 * stripped by a client.
 */
export function rewriteRequestHeaders (
  request: Pick<FastifyRequest, 'headers' | 'clientAddress' | 'peerAddress' | 'fromTrustedProxy' | 'protocol' | 'host'>, headers: Record<string, string | string[] | undefined>,
  identity: Identity | null, options: ForwardingOptions
): Record<string, string | string[] | undefined> {
  // What a trusted router (TRUST_PROXY) said about the hops before it; from anyone else it is ignored.
  const priorHops = request.fromTrustedProxy ? request.headers['x-forwarded-for'] : undefined
  const stripped = strippedNames(options)
  for (const name of Object.keys(headers)) {
    if (stripped.has(normaliseName(name))) delete headers[name]
  }
  if (!options.forwardAuthorization) delete headers.authorization
  if (options.sessionCookie !== undefined && typeof headers.cookie === 'string') {
    // The session (with the refresh token, encrypted) and login cookies are the proxy's: the app never sees them.
    const cookie = withoutOwnCookies(headers.cookie, options.sessionCookie)
    if (cookie === '') delete headers.cookie
    else headers.cookie = cookie
  }

  // Host is passed through (as oauth2-proxy does): apps build absolute URLs and check Origin against it.
  const hostHeader = request.headers.host
  if (hostHeader !== undefined) headers.host = hostHeader

  // Fastify applies TRUST_PROXY: clientAddress, protocol and host come from X-Forwarded-* only when the
  // connection is from a trusted router, and from the connection itself otherwise.
  const clientAddress = request.clientAddress
  const proto = request.protocol
  const host = hostHeader === undefined && !request.fromTrustedProxy ? undefined : request.host
  const peer = request.peerAddress
  headers['x-forwarded-for'] = typeof priorHops === 'string' && priorHops !== '' ? `${priorHops}, ${peer}` : peer
  headers['x-real-ip'] = clientAddress
  headers['x-forwarded-proto'] = proto
  if (host !== undefined) headers['x-forwarded-host'] = host
  // RFC 7239 §4: the standard form of the same facts. A Host value that is not a plain authority is left out
  // rather than quoted, so a client cannot inject extra Forwarded parameters through it.
  const hostParam = host !== undefined && AUTHORITY_RE.test(host) ? `;host="${host}"` : ''
  headers.forwarded = `for=${forwardedNode(clientAddress)};proto=${proto}${hostParam}`
  if (identity !== null) {
    headers[options.userHeader.toLowerCase()] = identity.user
    const groups = groupsValue(identity.groups)
    if (groups !== undefined) headers[options.groupsHeader.toLowerCase()] = groups
    if (identity.email !== undefined) headers[options.emailHeader.toLowerCase()] = identity.email
    if (identity.accessToken !== undefined) headers[ACCESS_TOKEN_HEADER] = identity.accessToken
  }
  return headers
}

/**
 * Headers for the proxy's own WebSocket handshake with the app: the client's (Origin, cookies, …) under the
 * same rules as HTTP, so the app sees the same identity headers and nothing a client could forge.
 */
export function websocketRequestHeaders (request: Parameters<typeof rewriteRequestHeaders>[0] & Pick<FastifyRequest, 'identity'>, options: ForwardingOptions): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = { ...request.headers }
  for (const name of connectionListed(headers)) delete headers[name]
  return rewriteRequestHeaders(request, headers, request.identity, options)
}

const HOP_BY_HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP)

/** Whether a (lower-case) field name is hop-by-hop (RFC 9110 §7.6.1), never relayed in either direction. */
export function isHopByHop (name: string): boolean {
  return HOP_BY_HOP_SET.has(name)
}
