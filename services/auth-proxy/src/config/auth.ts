// The authentication part of the configuration: which credential methods, in which order, and how identities
// travel upstream. Each method's own settings are read in its folder (auth/ldap/config.ts, auth/oidc/config.ts);
// every setting is declared in settings.ts.
import type { EnvReader } from './reader.ts'
import { readLdapConfig, type LdapConfig } from '../auth/ldap/config.ts'
import { readOidcConfig, readPathPrefix, readSessionConfig, type OidcConfig, type SessionConfig } from '../auth/oidc/config.ts'


/** The setting that turns each method on, by AUTH_BACKENDS name. */
const BACKEND_SETTINGS = Object.freeze({ htpasswd: 'HTPASSWD_FILE', static: 'AUTH_USERNAME', ldap: 'LDAP_URL', oidc: 'OIDC_ISSUER_URL' } as const)

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
  /** Groups for htpasswd and static users (Apache AuthGroupFile). */
  readonly groupsFile?: string
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
  /** Hosts (`app.example.org`, or `.example.org` for its subdomains) a login may return to besides its own. */
  readonly returnDomains: readonly string[]
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
function readIdentityHeader (r: EnvReader, name: 'USER_HEADER' | 'GROUPS_HEADER' | 'EMAIL_HEADER'): string {
  const value = r.value(name)
  if (!TOKEN_RE.test(value)) {
    r.problem(name, `must be a valid HTTP header name, got "${value}"`)
  } else if (RESERVED_HEADERS.has(value.toLowerCase())) {
    r.problem(name, `must not be a header the proxy or HTTP itself controls, got "${value}"`)
  }
  return value
}

/** AUTH_BACKENDS: which configured backends to ask, in order. Default: every configured one, htpasswd first. */
function readBackends (r: EnvReader, configured: ReadonlyMap<BackendName, string>): BackendName[] {
  const listed = r.value('AUTH_BACKENDS').map((name) => name.toLowerCase())
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


const DOMAIN_RE = /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/

/** AUTH_RETURN_DOMAINS: host names, or `.example.org` for every host below it. */
function readReturnDomains (r: EnvReader): string[] {
  const domains = r.value('AUTH_RETURN_DOMAINS').map((d) => d.toLowerCase())
  for (const d of domains) if (!DOMAIN_RE.test(d)) r.problem('AUTH_RETURN_DOMAINS', `"${d}" is not a host name or .domain (no scheme, port or path)`)
  return domains
}

function readRealm (r: EnvReader): string {
  const value = r.value('AUTH_REALM')
  if (!REALM_RE.test(value) || value.length > 128) {
    // The realm is sent inside a quoted-string (RFC 7617 §2); quotes, backslashes and controls would break it.
    r.problem('AUTH_REALM', 'must be 1-128 printable ASCII characters without " or \\')
  }
  return value
}

function readStaticCredentials (r: EnvReader): StaticCredentialsConfig | undefined {
  const username = r.value('AUTH_USERNAME')
  const secret = r.secret('AUTH_PASSWORD')
  if (username === undefined) {
    r.onlyWith(['AUTH_PASSWORD'], 'AUTH_USERNAME')
    return undefined
  }
  // RFC 7617 §2: the user-id cannot contain a colon; controls are forbidden in both parts.
  if (username.includes(':') || hasControlCharacters(username)) {
    r.problem('AUTH_USERNAME', 'must not contain ":" or control characters')
  }
  if (secret === undefined) {
    r.problem('AUTH_USERNAME', 'is set but neither AUTH_PASSWORD nor AUTH_PASSWORD_FILE is')
    return undefined
  }
  if ('file' in secret) return { username, passwordFile: secret.file } // the file wins over AUTH_PASSWORD
  if (hasControlCharacters(secret.value)) r.problem('AUTH_PASSWORD', 'must not contain control characters')
  return { username, password: secret.value }
}

/** Reads the whole auth section; problems go to the reader like every other setting's. */
export function readAuthConfig (r: EnvReader): AuthConfig {
  const htpasswdFile = r.value('HTPASSWD_FILE')
  const staticCredentials = readStaticCredentials(r)
  const groupsFile = r.value('HTPASSWD_GROUPS_FILE')
  if (groupsFile !== undefined && htpasswdFile === undefined && staticCredentials === undefined) {
    r.problem('HTPASSWD_GROUPS_FILE', 'is set but neither HTPASSWD_FILE nor AUTH_USERNAME is: its groups are for their users')
  }
  const ldap = readLdapConfig(r)
  const oidc = readOidcConfig(r)
  const session = readSessionConfig(r, oidc !== undefined)
  const present: Record<BackendName, boolean> = { htpasswd: htpasswdFile !== undefined, static: r.get('AUTH_USERNAME') !== undefined, ldap: ldap !== undefined, oidc: oidc !== undefined }
  const configured = new Map(BACKEND_NAMES.filter((name) => present[name]).map((name) => [name, BACKEND_SETTINGS[name]]))
  if (configured.size === 0) {
    // Fail closed: a proxy with no credentials would either let everyone in or no one.
    r.problem('HTPASSWD_FILE', 'no credentials configured: set HTPASSWD_FILE, AUTH_USERNAME with AUTH_PASSWORD or AUTH_PASSWORD_FILE, LDAP_URL or OIDC_ISSUER_URL')
  }
  const userHeader = readIdentityHeader(r, 'USER_HEADER')
  const groupsHeader = readIdentityHeader(r, 'GROUPS_HEADER')
  const emailHeader = readIdentityHeader(r, 'EMAIL_HEADER')
  const seen = new Map<string, string>()
  for (const [name, value] of [['USER_HEADER', userHeader], ['GROUPS_HEADER', groupsHeader], ['EMAIL_HEADER', emailHeader]] as const) {
    const other = seen.get(value.toLowerCase())
    if (other !== undefined) r.problem(name, `must differ from ${other} (both are ${value})`)
    seen.set(value.toLowerCase(), name)
  }
  return {
    realm: readRealm(r),
    ...(htpasswdFile !== undefined && { htpasswdFile }),
    ...(groupsFile !== undefined && { groupsFile }),
    ...(staticCredentials !== undefined && { static: staticCredentials }),
    ...(ldap !== undefined && { ldap }),
    backends: readBackends(r, configured),
    userHeader,
    groupsHeader,
    emailHeader,
    ...(oidc !== undefined && { oidc }),
    ...(session !== undefined && { session }),
    pathPrefix: readPathPrefix(r),
    forwardAuthorization: r.value('FORWARD_AUTHORIZATION'),
    returnDomains: readReturnDomains(r),
    htpasswdReloadMs: r.value('HTPASSWD_RELOAD_INTERVAL'),
    cache: {
      maxEntries: r.value('VERIFY_CACHE_SIZE'),
      ttlMs: r.value('VERIFY_CACHE_TTL')
    },
    throttle: {
      limit: r.value('AUTH_FAILURE_LIMIT'),
      clientLimit: r.value('AUTH_FAILURE_CLIENT_LIMIT'),
      accountLimit: r.value('AUTH_FAILURE_ACCOUNT_LIMIT'),
      windowMs: r.value('AUTH_FAILURE_WINDOW'),
      maxClients: r.value('AUTH_FAILURE_MAX_CLIENTS')
    }
  }
}
