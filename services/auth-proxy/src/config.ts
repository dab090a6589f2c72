// The proxy's configuration: one schema, read from the environment once at start-up.
// Every problem is collected and reported together, each naming its variable (like oauth2-proxy's Validate()),
// and the result is deeply frozen so no part of the app can change it later.
import proxyAddr from '@fastify/proxy-addr'
import { readLdapConfig, type LdapConfig } from './auth/ldap-config.ts'
import { EnvReader, type Env } from './env.ts'
import { ConfigError } from './errors.ts'

export const DEFAULTS = Object.freeze({
  LISTEN_HOST: '0.0.0.0',
  LISTEN_PORT: 8081,
  MANAGEMENT_HOST: '0.0.0.0',
  MANAGEMENT_PORT: 9091,
  UPSTREAM_URL: 'http://127.0.0.1:8080',
  UPSTREAM_CONNECT_TIMEOUT_MS: 5_000,
  UPSTREAM_TIMEOUT_MS: 60_000, // like nginx's proxy_read_timeout
  UPSTREAM_BODY_TIMEOUT_MS: 60_000,
  // Long enough for the endpoints controller to take the Pod out of the Service before the listener closes.
  SHUTDOWN_DELAY_MS: 5_000,
  // Inside Kubernetes' default 30 s grace period, with room for the delay above.
  SHUTDOWN_TIMEOUT_MS: 20_000,
  TLS_RELOAD_INTERVAL_MS: 10_000,
  AUTH_REALM: 'Restricted',
  USER_HEADER: 'X-Forwarded-User',
  GROUPS_HEADER: 'X-Forwarded-Groups', // as oauth2-proxy names it
  FORWARD_AUTHORIZATION: false,
  HTPASSWD_RELOAD_INTERVAL_MS: 2_000, // "within a few seconds" of the kubelet updating the Secret
  // ~1000 distinct credentials × ~200 bytes: bounded and small; 5 minutes caps how long a credential a backend
  // cannot signal a change for (LDAP, later) keeps working from cache.
  VERIFY_CACHE_SIZE: 1_000,
  VERIFY_CACHE_TTL_MS: 5 * 60_000,
  // 10 wrong passwords a minute per client: room for a lab of typists behind one NAT, ~14k guesses a day at most.
  AUTH_FAILURE_LIMIT: 10,
  AUTH_FAILURE_WINDOW_MS: 60_000,
  AUTH_FAILURE_MAX_CLIENTS: 10_000, // ~1 MB at most, whatever the flood of addresses
  LOG_LEVEL: 'info'
})

export const LOG_LEVELS = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/** Headers the proxy owns or that define message framing: letting USER_HEADER name one would break requests. */
const RESERVED_HEADERS = new Set([
  'host', 'authorization', 'proxy-authorization', 'cookie', 'connection', 'keep-alive', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'content-type', 'expect',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded'
])

export interface PublicPath {
  /** Upper-case method, or undefined for any. GET also admits HEAD. */
  readonly method?: string
  readonly path: string
}

export interface StaticCredentialsConfig {
  readonly username: string
  /** Exactly one of password / passwordFile is set; the file wins when both are given. */
  readonly password?: string
  readonly passwordFile?: string
}

/** Credential backends by AUTH_BACKENDS name, in the default order (each only when configured). */
export const BACKEND_NAMES = Object.freeze(['htpasswd', 'static', 'ldap'] as const)
export type BackendName = typeof BACKEND_NAMES[number]

export interface Config {
  readonly listen: { readonly host: string, readonly port: number }
  readonly management: { readonly host: string, readonly port: number }
  readonly upstream: {
    /** Origin only, e.g. http://127.0.0.1:8080 */
    readonly url: string
    readonly connectTimeoutMs: number
    /** Until the response headers arrive. */
    readonly timeoutMs: number
    /** Longest pause between two chunks of the response body; 0 for none. */
    readonly bodyTimeoutMs: number
  }
  /** Requests served without authentication: exact paths, optionally for one method only. */
  readonly publicPaths: readonly PublicPath[]
  readonly shutdown: { readonly delayMs: number, readonly timeoutMs: number }
  /** HTTPS on the public port when set. */
  readonly tls?: { readonly certFile: string, readonly keyFile: string, readonly reloadMs: number }
  readonly auth: {
    readonly realm: string
    readonly htpasswdFile?: string
    readonly static?: StaticCredentialsConfig
    readonly ldap?: LdapConfig
    /** Configured backends in the order they are asked (AUTH_BACKENDS). */
    readonly backends: readonly BackendName[]
    /** Canonical spelling as configured, e.g. X-Forwarded-User. */
    readonly userHeader: string
    /** Where the user's groups go upstream (comma-separated names), e.g. X-Forwarded-Groups. */
    readonly groupsHeader: string
    readonly forwardAuthorization: boolean
    readonly htpasswdReloadMs: number
    readonly cache: { readonly maxEntries: number, readonly ttlMs: number }
    readonly throttle: { readonly limit: number, readonly windowMs: number, readonly maxClients: number }
  }
  /** Addresses/CIDRs of proxies in front of us (e.g. the OpenShift router) whose X-Forwarded-* we believe. */
  readonly trustProxy: readonly string[]
  readonly logLevel: string
}

// RFC 9110 §5.1: field-name = token; tchar excludes separators and whitespace.
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 §11.2 quoted-string content that needs no escaping; we refuse `"`, `\` and controls outright.
const REALM_RE = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/
/** RFC 5234 CTL: forbidden in user-ids and passwords (RFC 7617 §2) and in header values. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\x00-\x1f\x7f]/
export function hasControlCharacters (value: string): boolean { return CONTROL_RE.test(value) }

function readUpstreamUrl (r: EnvReader): string {
  const value = r.get('UPSTREAM_URL') ?? DEFAULTS.UPSTREAM_URL
  let url: URL
  try {
    url = new URL(value)
  } catch {
    r.problem('UPSTREAM_URL', `must be an absolute http:// or https:// URL, got "${value}"`)
    return DEFAULTS.UPSTREAM_URL
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    r.problem('UPSTREAM_URL', `must use http:// or https://, got "${url.protocol}"`)
  } else if (url.username !== '' || url.password !== '') {
    r.problem('UPSTREAM_URL', 'must not contain credentials')
  } else if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    // The proxy forwards the client's path verbatim; a base path would silently rewrite every request.
    r.problem('UPSTREAM_URL', `must be an origin only (scheme, host, port), without a path, query or fragment, got "${value}"`)
  }
  return url.origin
}

/** USER_HEADER, GROUPS_HEADER: a header name the proxy may own (it strips every client copy). */
function readIdentityHeader (r: EnvReader, name: 'USER_HEADER' | 'GROUPS_HEADER', fallback: string): string {
  const value = r.get(name) ?? fallback
  if (!TOKEN_RE.test(value)) {
    r.problem(name, `must be a valid HTTP header name, got "${value}"`)
  } else if (RESERVED_HEADERS.has(value.toLowerCase())) {
    r.problem(name, `must not be a header the proxy or HTTP itself controls, got "${value}"`)
  }
  return value
}

/** AUTH_BACKENDS: which configured backends to ask, in order. Default: every configured one, htpasswd first. */
function readBackends (r: EnvReader, configured: ReadonlyMap<BackendName, string>): BackendName[] {
  const listed = r.list('AUTH_BACKENDS').map((name) => name.toLowerCase())
  if (listed.length === 0) return BACKEND_NAMES.filter((name) => configured.has(name))
  const out: BackendName[] = []
  for (const name of listed) {
    const known = BACKEND_NAMES.find((b) => b === name)
    if (known === undefined) {
      r.problem('AUTH_BACKENDS', `"${name}" is not a backend; choose from ${BACKEND_NAMES.join(', ')}`)
    } else if (out.includes(known)) {
      r.problem('AUTH_BACKENDS', `lists "${name}" twice`)
    } else if (!configured.has(known)) {
      r.problem('AUTH_BACKENDS', `lists "${name}", which is not configured (${BACKEND_SETTINGS[known]})`)
    } else {
      out.push(known)
    }
  }
  // A configured backend left out of the list would be silently ignored: say so instead.
  for (const [name, variable] of configured) {
    if (listed.length > 0 && !listed.includes(name)) r.problem(variable, `is set but "${name}" is not in AUTH_BACKENDS`)
  }
  return out
}

/** The setting that configures each backend, for messages. */
const BACKEND_SETTINGS: Record<BackendName, string> = { htpasswd: 'HTPASSWD_FILE', static: 'AUTH_USERNAME', ldap: 'LDAP_URL' }

function readRealm (r: EnvReader): string {
  const value = r.get('AUTH_REALM') ?? DEFAULTS.AUTH_REALM
  if (!REALM_RE.test(value) || value.length > 128) {
    // The realm is sent inside a quoted-string (RFC 7617 §2); quotes, backslashes and controls would break it.
    r.problem('AUTH_REALM', 'must be 1-128 printable ASCII characters without " or \\')
  }
  return value
}

function readStaticCredentials (r: EnvReader): StaticCredentialsConfig | undefined {
  const username = r.get('AUTH_USERNAME')
  const password = r.raw('AUTH_PASSWORD')
  const passwordFile = r.get('AUTH_PASSWORD_FILE')
  if (username === undefined) {
    if (password !== undefined) r.problem('AUTH_PASSWORD', 'is set but AUTH_USERNAME is not')
    if (passwordFile !== undefined) r.problem('AUTH_PASSWORD_FILE', 'is set but AUTH_USERNAME is not')
    return undefined
  }
  // RFC 7617 §2: the user-id cannot contain a colon; controls are forbidden in both parts.
  if (username.includes(':') || hasControlCharacters(username)) {
    r.problem('AUTH_USERNAME', 'must not contain ":" or control characters')
  }
  if (passwordFile !== undefined) return { username, passwordFile } // the file wins over AUTH_PASSWORD
  if (password === undefined) {
    r.problem('AUTH_USERNAME', 'is set but neither AUTH_PASSWORD nor AUTH_PASSWORD_FILE is')
    return undefined
  }
  if (hasControlCharacters(password)) r.problem('AUTH_PASSWORD', 'must not contain control characters')
  return { username, password }
}

const TRUST_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal'])

function readTrustProxy (r: EnvReader): string[] {
  const items = r.list('TRUST_PROXY')
  for (const item of items) {
    // Compiling one entry at a time names the bad one; proxy-addr is what Fastify uses to apply the list.
    try {
      if (!TRUST_KEYWORDS.has(item)) proxyAddr.compile(item)
    } catch {
      r.problem('TRUST_PROXY', `"${item}" is not an IP address, a CIDR range or one of ${[...TRUST_KEYWORDS].join(', ')}`)
    }
  }
  return items
}

const METHOD_RE = /^[A-Z]+$/

/** PUBLIC_PATHS: comma-separated `/path` or `METHOD /path`, exact (no prefixes, no patterns). */
function readPublicPaths (r: EnvReader): PublicPath[] {
  const out: PublicPath[] = []
  for (const item of r.list('PUBLIC_PATHS')) {
    const parts = item.split(/\s+/)
    const [method, path] = parts.length === 2 ? parts : [undefined, parts[0]]
    if (parts.length > 2 || path === undefined || (method !== undefined && !METHOD_RE.test(method))) {
      r.problem('PUBLIC_PATHS', `"${item}" must be "/path" or "METHOD /path"`)
    } else if (!path.startsWith('/') || /[?#;%\\]/.test(path) || /(^|\/)\.{1,2}(\/|$)/.test(path) || path.includes('//')) {
      // Only plain paths: anything encoded, parameterised or relative could match differently upstream.
      r.problem('PUBLIC_PATHS', `"${path}" must be a plain absolute path without ?, #, ;, %, \\, // or dot-segments`)
    } else {
      out.push({ path, ...(method !== undefined && { method }) })
    }
  }
  return out
}

function readTls (r: EnvReader): Config['tls'] {
  const certFile = r.get('TLS_CERT_FILE')
  const keyFile = r.get('TLS_KEY_FILE')
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined) r.problem('TLS_CERT_FILE', 'must be set together with TLS_KEY_FILE')
  if (keyFile === undefined) r.problem('TLS_KEY_FILE', 'must be set together with TLS_CERT_FILE')
  const reloadMs = r.durationMs('TLS_RELOAD_INTERVAL', DEFAULTS.TLS_RELOAD_INTERVAL_MS)
  return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, reloadMs } : undefined
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** Reads and validates the whole configuration. Throws one ConfigError listing every problem. */
export function loadConfig (env: Env = process.env): Config {
  const r = new EnvReader(env)
  const listen = { host: r.get('LISTEN_HOST') ?? DEFAULTS.LISTEN_HOST, port: r.port('LISTEN_PORT', DEFAULTS.LISTEN_PORT) }
  const management = {
    host: r.get('MANAGEMENT_HOST') ?? DEFAULTS.MANAGEMENT_HOST,
    port: r.port('MANAGEMENT_PORT', DEFAULTS.MANAGEMENT_PORT)
  }
  if (listen.port !== 0 && listen.port === management.port) {
    r.problem('MANAGEMENT_PORT', `must differ from LISTEN_PORT (both are ${listen.port})`)
  }
  const upstream = {
    url: readUpstreamUrl(r),
    connectTimeoutMs: r.durationMs('UPSTREAM_CONNECT_TIMEOUT', DEFAULTS.UPSTREAM_CONNECT_TIMEOUT_MS),
    timeoutMs: r.durationMs('UPSTREAM_TIMEOUT', DEFAULTS.UPSTREAM_TIMEOUT_MS),
    bodyTimeoutMs: r.durationMs('UPSTREAM_BODY_TIMEOUT', DEFAULTS.UPSTREAM_BODY_TIMEOUT_MS, true)
  }
  const publicPaths = readPublicPaths(r)
  const shutdown = {
    delayMs: r.durationMs('SHUTDOWN_DELAY', DEFAULTS.SHUTDOWN_DELAY_MS, true),
    timeoutMs: r.durationMs('SHUTDOWN_TIMEOUT', DEFAULTS.SHUTDOWN_TIMEOUT_MS)
  }
  const tls = readTls(r)
  const htpasswdFile = r.get('HTPASSWD_FILE')
  const staticCredentials = readStaticCredentials(r)
  const ldap = readLdapConfig(r)
  const configured = new Map<BackendName, string>()
  if (htpasswdFile !== undefined) configured.set('htpasswd', 'HTPASSWD_FILE')
  if (r.get('AUTH_USERNAME') !== undefined) configured.set('static', 'AUTH_USERNAME')
  if (ldap !== undefined) configured.set('ldap', 'LDAP_URL')
  if (configured.size === 0) {
    // Fail closed: a proxy with no credentials would either let everyone in or no one.
    r.problem('HTPASSWD_FILE', 'no credentials configured: set HTPASSWD_FILE, AUTH_USERNAME with AUTH_PASSWORD or AUTH_PASSWORD_FILE, or LDAP_URL')
  }
  const userHeader = readIdentityHeader(r, 'USER_HEADER', DEFAULTS.USER_HEADER)
  const groupsHeader = readIdentityHeader(r, 'GROUPS_HEADER', DEFAULTS.GROUPS_HEADER)
  if (userHeader.toLowerCase() === groupsHeader.toLowerCase()) r.problem('GROUPS_HEADER', `must differ from USER_HEADER (both are ${userHeader})`)
  const auth = {
    realm: readRealm(r),
    ...(htpasswdFile !== undefined && { htpasswdFile }),
    ...(staticCredentials !== undefined && { static: staticCredentials }),
    ...(ldap !== undefined && { ldap }),
    backends: readBackends(r, configured),
    userHeader,
    groupsHeader,
    forwardAuthorization: r.boolean('FORWARD_AUTHORIZATION', DEFAULTS.FORWARD_AUTHORIZATION),
    htpasswdReloadMs: r.durationMs('HTPASSWD_RELOAD_INTERVAL', DEFAULTS.HTPASSWD_RELOAD_INTERVAL_MS),
    cache: {
      maxEntries: r.integer('VERIFY_CACHE_SIZE', DEFAULTS.VERIFY_CACHE_SIZE, 0, 1_000_000),
      ttlMs: r.durationMs('VERIFY_CACHE_TTL', DEFAULTS.VERIFY_CACHE_TTL_MS)
    },
    throttle: {
      limit: r.integer('AUTH_FAILURE_LIMIT', DEFAULTS.AUTH_FAILURE_LIMIT, 0, 1_000_000),
      windowMs: r.durationMs('AUTH_FAILURE_WINDOW', DEFAULTS.AUTH_FAILURE_WINDOW_MS),
      maxClients: r.integer('AUTH_FAILURE_MAX_CLIENTS', DEFAULTS.AUTH_FAILURE_MAX_CLIENTS, 1, 10_000_000)
    }
  }
  const trustProxy = readTrustProxy(r)
  const logLevel = r.oneOf('LOG_LEVEL', LOG_LEVELS, DEFAULTS.LOG_LEVEL)

  if (r.problems.length > 0) throw new ConfigError(r.problems.map((p) => `  - ${p}`).join('\n'))
  return deepFreeze({ listen, management, upstream, publicPaths, shutdown, ...(tls !== undefined && { tls }), auth, trustProxy, logLevel })
}
