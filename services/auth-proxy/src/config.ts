// The proxy's configuration: one schema, read from the environment once at start-up.
// Every problem is collected and reported together, each naming its variable (like oauth2-proxy's Validate()),
// and the result is deeply frozen so no part of the app can change it later.
import proxyAddr from '@fastify/proxy-addr'
import { readAuthConfig, type AuthConfig } from './config/auth.ts'
import { EnvReader, type Env, type SettingValue } from './config/reader.ts'
import { readSharedConfig, type SharedConfig } from './config/shared.ts'
import { SETTINGS, type SettingName } from './config/settings.ts'
import { plainPathProblem } from './authz/rules.ts'
import { ConfigError } from './errors.ts'

/** Every declared setting's default, parsed (durations in ms): derived from settings.ts, for tests and tools. */
export const DEFAULTS: Readonly<{ [N in SettingName]: SettingValue<N> }> = Object.freeze(Object.fromEntries(
  (Object.keys(SETTINGS) as SettingName[]).map((name) => [name, new EnvReader({}).value(name)])) as { [N in SettingName]: SettingValue<N> })

export { LOG_LEVELS } from './config/settings.ts'

export interface PublicPath {
  /** Upper-case method, or undefined for any. GET also admits HEAD. */
  readonly method?: string
  readonly path: string
}

export type { AuthConfig, BackendName, StaticCredentialsConfig } from './config/auth.ts'

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
  /** `sidecar`: in front of the app at upstream.url; `forward-auth`: no app, checks for an ingress. */
  readonly mode: 'sidecar' | 'forward-auth'
  /** Requests served without authentication: exact paths, optionally for one method only. */
  readonly publicPaths: readonly PublicPath[]
  /** Who may do what (AUTHZ_RULES_FILE), re-read every reloadMs. */
  readonly authz: { readonly rulesFile?: string, readonly reloadMs: number }
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
  /** The Redis every replica shares (throttle, revocations); undefined: each replica keeps its own. */
  readonly shared?: SharedConfig
  /** Addresses/CIDRs of proxies in front of us (e.g. the OpenShift router) whose X-Forwarded-* we believe. */
  readonly trustProxy: readonly string[]
  readonly logLevel: string
}

function readUpstreamUrl (r: EnvReader): string {
  const value = r.value('UPSTREAM_URL')
  const url = r.url('UPSTREAM_URL', value, ['http:', 'https:'])
  if (url === undefined) return DEFAULTS.UPSTREAM_URL
  if (url.pathname !== '/' || url.search !== '') {
    // The proxy forwards the client's path verbatim; a base path would silently rewrite every request.
    r.problem('UPSTREAM_URL', `must be an origin only (scheme, host, port), without a path, query or fragment, got "${value}"`)
  }
  return url.origin
}

const TRUST_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal'])

function readTrustProxy (r: EnvReader): string[] {
  const items = r.value('TRUST_PROXY')
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
  for (const item of r.value('PUBLIC_PATHS')) {
    const parts = item.split(/\s+/)
    const [method, path] = parts.length === 2 ? parts : [undefined, parts[0]]
    // Only plain paths: anything encoded, parameterised or relative could match differently upstream.
    const problem = path === undefined ? undefined : plainPathProblem(path)
    if (parts.length > 2 || path === undefined || (method !== undefined && !METHOD_RE.test(method))) {
      r.problem('PUBLIC_PATHS', `"${item}" must be "/path" or "METHOD /path"`)
    } else if (problem !== undefined) {
      r.problem('PUBLIC_PATHS', problem)
    } else {
      out.push({ path, ...(method !== undefined && { method }) })
    }
  }
  return out
}

/** MODE=forward-auth has no app, and believes the described request only from the ingress (TRUST_PROXY). */
function readMode (r: EnvReader, trustProxy: readonly string[]): Config['mode'] {
  const mode = r.value('MODE') as Config['mode']
  if (mode !== 'forward-auth') return mode
  if (r.isSet('UPSTREAM_URL')) r.problem('UPSTREAM_URL', 'must not be set with MODE=forward-auth: there is no app behind the proxy, the ingress forwards')
  if (trustProxy.length === 0) r.problem('TRUST_PROXY', 'is required with MODE=forward-auth: the ingress\'s addresses, whose X-Forwarded-* / X-Original-* describe the request to check')
  return mode
}

function readTls (r: EnvReader): Config['tls'] {
  const certFile = r.get('TLS_CERT_FILE')
  const keyFile = r.get('TLS_KEY_FILE')
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined) r.problem('TLS_CERT_FILE', 'must be set together with TLS_KEY_FILE')
  if (keyFile === undefined) r.problem('TLS_KEY_FILE', 'must be set together with TLS_CERT_FILE')
  const reloadMs = r.value('TLS_RELOAD_INTERVAL')
  return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, reloadMs } : undefined
}

function readClientLimits (r: EnvReader): Config['client'] {
  const limits = {
    headerTimeoutMs: r.value('CLIENT_HEADER_TIMEOUT'),
    bodyTimeoutMs: r.value('CLIENT_BODY_TIMEOUT'),
    requestTimeoutMs: r.value('CLIENT_REQUEST_TIMEOUT'),
    websocketIdleMs: r.value('WEBSOCKET_IDLE_TIMEOUT')
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
  const listen = { host: r.value('LISTEN_HOST'), port: r.value('LISTEN_PORT') }
  const management = {
    host: r.value('MANAGEMENT_HOST'),
    port: r.value('MANAGEMENT_PORT')
  }
  if (listen.port !== 0 && listen.port === management.port) {
    r.problem('MANAGEMENT_PORT', `must differ from LISTEN_PORT (both are ${listen.port})`)
  }
  const upstream = {
    url: readUpstreamUrl(r),
    connectTimeoutMs: r.value('UPSTREAM_CONNECT_TIMEOUT'),
    timeoutMs: r.value('UPSTREAM_TIMEOUT'),
    bodyTimeoutMs: r.value('UPSTREAM_BODY_TIMEOUT')
  }
  const publicPaths = readPublicPaths(r)
  const shutdown = {
    delayMs: r.value('SHUTDOWN_DELAY'),
    timeoutMs: r.value('SHUTDOWN_TIMEOUT')
  }
  const client = readClientLimits(r)
  const tls = readTls(r)
  const auth = readAuthConfig(r)
  const trustProxy = readTrustProxy(r)
  const mode = readMode(r, trustProxy)
  const rulesFile = r.value('AUTHZ_RULES_FILE')
  const authz = { ...(rulesFile !== undefined && { rulesFile }), reloadMs: r.value('AUTHZ_RELOAD_INTERVAL') }
  const shared = readSharedConfig(r)
  const logLevel = r.value('LOG_LEVEL')

  if (r.problems.length > 0) throw new ConfigError(r.problems.map((p) => `  - ${p}`).join('\n'))
  return deepFreeze({ listen, management, upstream, mode, publicPaths, authz, shutdown, client, ...(tls !== undefined && { tls }), auth, ...(shared !== undefined && { shared }), trustProxy, logLevel })
}
