// What crosses the proxy in headers, both ways. `upstreamRequestHeaders` is the ONLY place the headers of a
// request to the app are made — plain HTTP, public paths and WebSocket upgrades alike (forward.ts, tunnel.ts):
// every forwarded request gets the same hop-by-hop removal, the same identity rules and the same forwarding
// fields, and nothing a client sent reaches the app except through it.
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { Identity } from '../auth/identity.ts'
import { isOwnCookie } from '../auth/oidc/cookie-names.ts'

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and must not be forwarded. Also
 * Proxy-Authorization/-Authenticate (addressed to a proxy, never to the app) and HTTP2-Settings, which only
 * means something with an h2c upgrade on this one connection (RFC 7540 §3.2.1).
 */
export const HOP_BY_HOP = Object.freeze([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings'
])

/** Expect is answered by the proxy itself once the client is authenticated (RFC 9110 §10.1.1, proxy.ts). */
const CONSUMED = Object.freeze(['expect'])

/**
 * The WebSocket handshake's fields (RFC 6455 §4.1, §11.3): they travel only with an upgrade the proxy tunnels,
 * so a request that is not one (an `Upgrade` Node did not take as such) can never look like a handshake to the app.
 */
const WEBSOCKET_HANDSHAKE = Object.freeze(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions',
  'sec-websocket-protocol', 'sec-websocket-accept'])

/**
 * What a client's Connection field may not remove: the target and the body's framing (RFC 9112 §3.2, §6). Listing
 * them would make the app see a request without a Host, or a body of another length.
 */
const NOT_REMOVABLE = new Set(['host', 'content-length'])

/** Header names listed in a Connection field (RFC 9110 §7.6.1), lower-cased. */
export function connectionListed (headers: IncomingHttpHeaders | Record<string, unknown>): string[] {
  const value = headers.connection
  if (typeof value !== 'string') return []
  return value.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
}

/**
 * A field name as CGI, WSGI, PHP and most frameworks see it: case folded, and `-`, `_`, `.` (and every other
 * non-alphanumeric character a token may hold) alike, since they map them all to `_` (HTTP_X_FORWARDED_USER).
 * X_Forwarded_User, X.Forwarded.User and x-forwarded-user must therefore die together.
 */
export function normaliseName (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '-')
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

/** The forwarding fields the proxy sets itself (RFC 7239 and the de-facto X-Forwarded-*). */
const FORWARDING = Object.freeze(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'forwarded'])

/**
 * Never from a client, whoever sent it: fields that make an app serve another path than the one the proxy
 * authorised (IIS/Symfony's X-Original-URL and X-Rewrite-URL, CVE-2018-14773; the X-Original-URI and
 * X-Forwarded-Uri of auth_request setups), or another method than the one the rules decided on (the method-override
 * fields Express's method-override, Symfony and Laravel honour: `POST` + `X-HTTP-Method-Override: DELETE` would be a
 * DELETE a `methods: [DELETE]` rule never saw), and the identity fields of other authenticating proxies — an app set up
 * for oauth2-proxy (X-Auth-Request-*, X-Forwarded-Preferred-Username), Authelia (Remote-*), Pomerium or vouch
 * must not be fooled through this one.
 */
const NEVER_FROM_CLIENTS = Object.freeze(['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-forwarded-uri',
  'x-original-method', 'x-forwarded-method', 'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-auth-request-user', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-preferred-username',
  'x-auth-request-access-token', 'x-forwarded-preferred-username', 'remote-user', 'remote-groups', 'remote-email',
  'remote-name', 'x-remote-user', 'x-pomerium-claim-email', 'x-pomerium-jwt-assertion', 'x-vouch-user'])

/**
 * What a router may say about the outside and apps use to build their URLs (Django's USE_X_FORWARDED_PORT,
 * Spring's X-Forwarded-Prefix, Rails' X-Forwarded-Ssl): believed from a TRUST_PROXY router, dropped from anyone
 * else, like X-Forwarded-For.
 */
const ROUTER_ONLY = Object.freeze(['x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-ssl',
  'x-forwarded-scheme', 'front-end-https', 'x-url-scheme'].map(normaliseName))
const ROUTER_ONLY_SET: ReadonlySet<string> = new Set(ROUTER_ONLY)

/** Normalised names of every client field the proxy drops or owns, computed once per configuration. */
const strippedCache = new WeakMap<ForwardingOptions, ReadonlySet<string>>()
/** The set of normalised names a client may never send to the app (managed, hop-by-hop, consumed). */
export function managedNames (options: ForwardingOptions): ReadonlySet<string> {
  let names = strippedCache.get(options)
  if (names === undefined) {
    names = new Set([...HOP_BY_HOP, ...CONSUMED, options.userHeader, options.groupsHeader, options.emailHeader,
      ACCESS_TOKEN_HEADER, ...FORWARDING, ...NEVER_FROM_CLIENTS].map(normaliseName))
    strippedCache.set(options, names)
  }
  return names
}

/** The Cookie header without `name`, its chunks `name_0…` and login cookies `name_login_…`. */
export function withoutOwnCookies (cookie: string, name: string): string {
  return cookie.split(';').map((pair) => pair.trim()).filter((pair) => {
    const eq = pair.indexOf('=')
    const cookieName = (eq < 0 ? pair : pair.slice(0, eq)).trim()
    return pair !== '' && !isOwnCookie(name, cookieName)
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
  const listable = groups?.filter((g) => g !== '' && !UNLISTABLE_RE.test(g)).map(identityValue)
  return listable === undefined || listable.length === 0 ? undefined : listable.join(',')
}

const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/

/**
 * An identity value (user, e-mail, group) as header octets. RFC 9110 §5.5: a field value is octets, and only
 * US-ASCII is safe to interpret; a name beyond it (Łukasz, šlice, Müller) travels as its UTF-8 bytes — what
 * nginx's $remote_user and oauth2-proxy send — so every user who can log in reaches the app, and an app
 * decodes the value as UTF-8 (WSGI: `value.encode('latin-1').decode('utf-8')`). undici writes header strings as
 * Latin-1, one byte per character, hence the byte string. Control characters never get here: an identity that
 * holds one is refused at authentication (auth/backend.ts isForwardable).
 */
export function identityValue (value: string): string {
  return PRINTABLE_ASCII_RE.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1')
}

/** What the header rewrite reads of a request (Fastify's, after TRUST_PROXY has been applied). */
export type ForwardedRequest = Pick<FastifyRequest, 'headers' | 'clientAddress' | 'peerAddress' | 'fromTrustedProxy' | 'protocol' | 'host' | 'identity'>

/**
 * The headers of the request to the app, built from the client's: what its Connection lists, hop-by-hop and
 * consumed fields and every spelling of a field the proxy manages are left out first, so whatever is set
 * afterwards can be neither forged nor stripped by a client; then Host (passed through), the forwarding fields
 * (RFC 7239), the identity, and — only for a tunnelled WebSocket upgrade — the handshake (RFC 6455 §4.1).
 */
export function upstreamRequestHeaders (request: ForwardedRequest, options: ForwardingOptions, upgrade: boolean): Record<string, string | string[]> {
  const client = request.headers
  const listed = connectionListed(client)
  const managed = managedNames(options)
  const headers: Record<string, string | string[]> = {}
  const trusted = request.fromTrustedProxy
  for (const name in client) {
    const value = client[name]
    if (value === undefined) continue
    const normal = normaliseName(name)
    if (managed.has(normal) || (!trusted && ROUTER_ONLY_SET.has(normal))) continue
    if (listed.length > 0 && listed.includes(name) && !NOT_REMOVABLE.has(name)) continue
    if (!upgrade && WEBSOCKET_HANDSHAKE.includes(name)) continue
    headers[name] = value
  }
  if (!options.forwardAuthorization) delete headers.authorization
  if (options.sessionCookie !== undefined && typeof headers.cookie === 'string') {
    // The session (with the refresh token, encrypted) and login cookies are the proxy's: the app never sees them.
    const cookie = withoutOwnCookies(headers.cookie, options.sessionCookie)
    if (cookie === '') delete headers.cookie
    else headers.cookie = cookie
  }
  // An upgrade's own Connection/Upgrade pair for the hop to the app (RFC 9110 §7.8) is written by undici, from the
  // dispatch's `upgrade: 'websocket'` (forward.ts): it refuses them among the headers.

  // Fastify applies TRUST_PROXY: clientAddress, protocol and host come from X-Forwarded-* only when the
  // connection is from a trusted router, and from the connection itself otherwise.
  const priorHops = request.fromTrustedProxy ? client['x-forwarded-for'] : undefined
  const hostHeader = client.host
  const host = hostHeader === undefined && !request.fromTrustedProxy ? undefined : request.host
  const clientAddress = request.clientAddress
  const proto = request.protocol
  const peer = request.peerAddress
  headers['x-forwarded-for'] = typeof priorHops === 'string' && priorHops !== '' ? `${priorHops}, ${peer}` : peer
  headers['x-real-ip'] = clientAddress
  headers['x-forwarded-proto'] = proto
  if (host !== undefined) headers['x-forwarded-host'] = host
  // RFC 7239 §4: the standard form of the same facts. A Host value that is not a plain authority is left out
  // rather than quoted, so a client cannot inject extra Forwarded parameters through it.
  const hostParam = host !== undefined && AUTHORITY_RE.test(host) ? `;host="${host}"` : ''
  headers.forwarded = `for=${forwardedNode(clientAddress)};proto=${proto}${hostParam}`
  const identity: Identity | null = request.identity
  if (identity !== null) {
    headers[options.userHeader.toLowerCase()] = identityValue(identity.user)
    const groups = groupsValue(identity.groups)
    if (groups !== undefined) headers[options.groupsHeader.toLowerCase()] = groups
    if (identity.email !== undefined) headers[options.emailHeader.toLowerCase()] = identityValue(identity.email)
    if (identity.accessToken !== undefined) headers[ACCESS_TOKEN_HEADER] = identity.accessToken
  }
  return headers
}

const HOP_BY_HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP)

/** Whether a (lower-case) field name is hop-by-hop (RFC 9110 §7.6.1), never relayed in either direction. */
export function isHopByHop (name: string): boolean {
  return HOP_BY_HOP_SET.has(name)
}

/**
 * The response's header list for `writeHead`, flat [name, value, …]: the app's fields without the hop-by-hop ones
 * and whatever the app's Connection lists (RFC 9110 §7.6.1); repeated fields (Set-Cookie) stay separate. Fields
 * the proxy set before the app answered (a renewed session's Set-Cookie) are kept unless the app sent the same
 * field; Set-Cookie from both is sent. `extra` is appended last (Connection: close while draining; the
 * Upgrade/Connection pair of a relayed 101).
 */
export function responseHeaders (app: Record<string, string | string[] | undefined>, own: Record<string, number | string | readonly string[] | undefined>, extra: readonly string[] = []): string[] {
  const listed = connectionListed(app)
  const out: string[] = []
  for (const name in own) {
    const value = own[name]
    if (value === undefined || (name !== 'set-cookie' && app[name] !== undefined)) continue
    if (typeof value === 'object') for (const v of value) out.push(name, v)
    else out.push(name, String(value))
  }
  for (const name in app) {
    const value = app[name]
    if (value === undefined || isHopByHop(name) || (listed.length > 0 && listed.includes(name))) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  out.push(...extra)
  return out
}
