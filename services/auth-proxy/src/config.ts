// The proxy's configuration: one schema, read from the environment once at start-up.
// Every problem is collected and reported together, each naming its variable (like oauth2-proxy's Validate()),
// and the result is deeply frozen so no part of the app can change it later.
import proxyAddr from '@fastify/proxy-addr'
import { AUTH_DEFAULTS, readAuthConfig, type AuthConfig } from './auth/auth-config.ts'
import { LDAP_DEFAULTS } from './auth/ldap/config.ts'
import { OIDC_DEFAULTS } from './auth/oidc/config.ts'
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
  // Slow clients (slowloris): checked every second (CLIENT_CHECK_INTERVAL_MS), so a limit holds to within a second.
  CLIENT_HEADER_TIMEOUT_MS: 10_000, // the request line and headers; nginx allows 60 s, browsers send them at once
  CLIENT_BODY_TIMEOUT_MS: 30_000, // longest pause between two pieces of a request body (nginx: client_body_timeout)
  CLIENT_REQUEST_TIMEOUT_MS: 300_000, // the whole request, body included (Node's own default)
  WEBSOCKET_IDLE_TIMEOUT_MS: 3_600_000, // a tunnel with no byte either way for an hour is ended (1001)
  ...AUTH_DEFAULTS,
  ...LDAP_DEFAULTS,
  ...OIDC_DEFAULTS,
  LOG_LEVEL: 'info'
})

export const LOG_LEVELS = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export interface PublicPath {
  /** Upper-case method, or undefined for any. GET also admits HEAD. */
  readonly method?: string
  readonly path: string
}

export type { AuthConfig, BackendName, StaticCredentialsConfig } from './auth/auth-config.ts'

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
  /** Limits on what a client may take (0: none, except for the header timeout). */
  readonly client: {
    readonly headerTimeoutMs: number
    readonly bodyTimeoutMs: number
    readonly requestTimeoutMs: number
    readonly websocketIdleMs: number
  }
  /** HTTPS on the public port when set. */
  readonly tls?: { readonly certFile: string, readonly keyFile: string, readonly reloadMs: number }
  readonly auth: AuthConfig
  /** Addresses/CIDRs of proxies in front of us (e.g. the OpenShift router) whose X-Forwarded-* we believe. */
  readonly trustProxy: readonly string[]
  readonly logLevel: string
}

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

function readClientLimits (r: EnvReader): Config['client'] {
  const limits = {
    headerTimeoutMs: r.durationMs('CLIENT_HEADER_TIMEOUT', DEFAULTS.CLIENT_HEADER_TIMEOUT_MS),
    bodyTimeoutMs: r.durationMs('CLIENT_BODY_TIMEOUT', DEFAULTS.CLIENT_BODY_TIMEOUT_MS, true),
    requestTimeoutMs: r.durationMs('CLIENT_REQUEST_TIMEOUT', DEFAULTS.CLIENT_REQUEST_TIMEOUT_MS, true),
    websocketIdleMs: r.durationMs('WEBSOCKET_IDLE_TIMEOUT', DEFAULTS.WEBSOCKET_IDLE_TIMEOUT_MS, true)
  }
  // Node refuses a server whose headers may take longer than the whole request.
  if (limits.requestTimeoutMs !== 0 && limits.headerTimeoutMs > limits.requestTimeoutMs) {
    r.problem('CLIENT_HEADER_TIMEOUT', `must not exceed CLIENT_REQUEST_TIMEOUT (${limits.headerTimeoutMs} ms > ${limits.requestTimeoutMs} ms)`)
  }
  return limits
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
  const client = readClientLimits(r)
  const tls = readTls(r)
  const auth = readAuthConfig(r)
  const trustProxy = readTrustProxy(r)
  const logLevel = r.oneOf('LOG_LEVEL', LOG_LEVELS, DEFAULTS.LOG_LEVEL)

  if (r.problems.length > 0) throw new ConfigError(r.problems.map((p) => `  - ${p}`).join('\n'))
  return deepFreeze({ listen, management, upstream, publicPaths, shutdown, client, ...(tls !== undefined && { tls }), auth, trustProxy, logLevel })
}
