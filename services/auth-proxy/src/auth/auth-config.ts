// The authentication part of the configuration schema: which credential backends, in which order, and how
// identities travel upstream. LDAP's own settings live in ldap-config.ts.
import type { EnvReader } from '../env.ts'
import { readLdapConfig, type LdapConfig } from './ldap/config.ts'
import { readOidcConfig, readPathPrefix, readSessionConfig, type OidcConfig, type SessionConfig } from './oidc/config.ts'

export const AUTH_DEFAULTS = Object.freeze({
  AUTH_REALM: 'Restricted',
  USER_HEADER: 'X-Forwarded-User',
  GROUPS_HEADER: 'X-Forwarded-Groups', // as oauth2-proxy names it
  EMAIL_HEADER: 'X-Forwarded-Email',
  FORWARD_AUTHORIZATION: false,
  HTPASSWD_RELOAD_INTERVAL_MS: 2_000, // "within a few seconds" of the kubelet updating the Secret
  // ~1000 distinct credentials × ~200 bytes: bounded and small; 5 minutes caps how long a credential a backend
  // cannot signal a change for (LDAP) keeps working from cache.
  VERIFY_CACHE_SIZE: 1_000,
  VERIFY_CACHE_TTL_MS: 5 * 60_000,
  // 10 wrong passwords a minute per client and user name: a typist's patience; ~14k guesses a day at most.
  AUTH_FAILURE_LIMIT: 10,
  // 50 a minute per client whatever the names: a lab behind one NAT rarely fails that often; a sprayer does.
  AUTH_FAILURE_CLIENT_LIMIT: 50,
  // 20 a minute per user name from everywhere, then that account is slowed (auth/throttle.ts).
  AUTH_FAILURE_ACCOUNT_LIMIT: 20,
  AUTH_FAILURE_WINDOW_MS: 60_000,
  AUTH_FAILURE_MAX_CLIENTS: 10_000 // ~1 MB at most, whatever the flood of addresses
})

/** Credential backends by AUTH_BACKENDS name, in the default order (each only when configured). */
export const BACKEND_NAMES = Object.freeze(['htpasswd', 'static', 'ldap', 'oidc'] as const)
export type BackendName = typeof BACKEND_NAMES[number]

/** Headers the proxy owns or that define message framing: letting USER_HEADER name one would break requests. */
const RESERVED_HEADERS = new Set([
  'host', 'authorization', 'proxy-authorization', 'cookie', 'connection', 'keep-alive', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'content-type', 'expect',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded'
])

export interface StaticCredentialsConfig {
  readonly username: string
  /** Exactly one of password / passwordFile is set; the file wins when both are given. */
  readonly password?: string
  readonly passwordFile?: string
}

export interface AuthConfig {
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
  /** Where the user's e-mail address goes upstream (OpenID Connect), e.g. X-Forwarded-Email. */
  readonly emailHeader: string
  readonly oidc?: OidcConfig
  readonly session?: SessionConfig
  /** The proxy's own endpoints (OpenID Connect callback, logout, userinfo), e.g. /_auth. */
  readonly pathPrefix: string
  readonly forwardAuthorization: boolean
  readonly htpasswdReloadMs: number
  readonly cache: { readonly maxEntries: number, readonly ttlMs: number }
  readonly throttle: {
    readonly limit: number
    readonly clientLimit: number
    readonly accountLimit: number
    readonly windowMs: number
    readonly maxClients: number
  }
}

// RFC 9110 §5.1: field-name = token; tchar excludes separators and whitespace.
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 §11.2 quoted-string content that needs no escaping; we refuse `"`, `\` and controls outright.
const REALM_RE = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/
/** RFC 5234 CTL: forbidden in user-ids and passwords (RFC 7617 §2) and in header values. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\x00-\x1f\x7f]/
export function hasControlCharacters (value: string): boolean { return CONTROL_RE.test(value) }

/** USER_HEADER, GROUPS_HEADER: a header name the proxy may own (it strips every client copy). */
function readIdentityHeader (r: EnvReader, name: 'USER_HEADER' | 'GROUPS_HEADER' | 'EMAIL_HEADER', fallback: string): string {
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
const BACKEND_SETTINGS: Record<BackendName, string> = { htpasswd: 'HTPASSWD_FILE', static: 'AUTH_USERNAME', ldap: 'LDAP_URL', oidc: 'OIDC_ISSUER_URL' }

function readRealm (r: EnvReader): string {
  const value = r.get('AUTH_REALM') ?? AUTH_DEFAULTS.AUTH_REALM
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

/** Reads the whole auth section; problems go to the reader like every other setting's. */
export function readAuthConfig (r: EnvReader): AuthConfig {
  const htpasswdFile = r.get('HTPASSWD_FILE')
  const staticCredentials = readStaticCredentials(r)
  const ldap = readLdapConfig(r)
  const oidc = readOidcConfig(r)
  const session = readSessionConfig(r, oidc !== undefined)
  const configured = new Map<BackendName, string>()
  if (htpasswdFile !== undefined) configured.set('htpasswd', 'HTPASSWD_FILE')
  if (r.get('AUTH_USERNAME') !== undefined) configured.set('static', 'AUTH_USERNAME')
  if (ldap !== undefined) configured.set('ldap', 'LDAP_URL')
  if (oidc !== undefined) configured.set('oidc', 'OIDC_ISSUER_URL')
  if (configured.size === 0) {
    // Fail closed: a proxy with no credentials would either let everyone in or no one.
    r.problem('HTPASSWD_FILE', 'no credentials configured: set HTPASSWD_FILE, AUTH_USERNAME with AUTH_PASSWORD or AUTH_PASSWORD_FILE, LDAP_URL or OIDC_ISSUER_URL')
  }
  const userHeader = readIdentityHeader(r, 'USER_HEADER', AUTH_DEFAULTS.USER_HEADER)
  const groupsHeader = readIdentityHeader(r, 'GROUPS_HEADER', AUTH_DEFAULTS.GROUPS_HEADER)
  const emailHeader = readIdentityHeader(r, 'EMAIL_HEADER', AUTH_DEFAULTS.EMAIL_HEADER)
  const seen = new Map<string, string>()
  for (const [name, value] of [['USER_HEADER', userHeader], ['GROUPS_HEADER', groupsHeader], ['EMAIL_HEADER', emailHeader]] as const) {
    const other = seen.get(value.toLowerCase())
    if (other !== undefined) r.problem(name, `must differ from ${other} (both are ${value})`)
    seen.set(value.toLowerCase(), name)
  }
  return {
    realm: readRealm(r),
    ...(htpasswdFile !== undefined && { htpasswdFile }),
    ...(staticCredentials !== undefined && { static: staticCredentials }),
    ...(ldap !== undefined && { ldap }),
    backends: readBackends(r, configured),
    userHeader,
    groupsHeader,
    emailHeader,
    ...(oidc !== undefined && { oidc }),
    ...(session !== undefined && { session }),
    pathPrefix: readPathPrefix(r),
    forwardAuthorization: r.boolean('FORWARD_AUTHORIZATION', AUTH_DEFAULTS.FORWARD_AUTHORIZATION),
    htpasswdReloadMs: r.durationMs('HTPASSWD_RELOAD_INTERVAL', AUTH_DEFAULTS.HTPASSWD_RELOAD_INTERVAL_MS),
    cache: {
      maxEntries: r.integer('VERIFY_CACHE_SIZE', AUTH_DEFAULTS.VERIFY_CACHE_SIZE, 0, 1_000_000),
      ttlMs: r.durationMs('VERIFY_CACHE_TTL', AUTH_DEFAULTS.VERIFY_CACHE_TTL_MS)
    },
    throttle: {
      limit: r.integer('AUTH_FAILURE_LIMIT', AUTH_DEFAULTS.AUTH_FAILURE_LIMIT, 0, 1_000_000),
      clientLimit: r.integer('AUTH_FAILURE_CLIENT_LIMIT', AUTH_DEFAULTS.AUTH_FAILURE_CLIENT_LIMIT, 1, 1_000_000),
      accountLimit: r.integer('AUTH_FAILURE_ACCOUNT_LIMIT', AUTH_DEFAULTS.AUTH_FAILURE_ACCOUNT_LIMIT, 1, 1_000_000),
      windowMs: r.durationMs('AUTH_FAILURE_WINDOW', AUTH_DEFAULTS.AUTH_FAILURE_WINDOW_MS),
      maxClients: r.integer('AUTH_FAILURE_MAX_CLIENTS', AUTH_DEFAULTS.AUTH_FAILURE_MAX_CLIENTS, 1, 10_000_000)
    }
  }
}
