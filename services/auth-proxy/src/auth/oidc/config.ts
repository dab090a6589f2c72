// The OpenID Connect and session part of the configuration schema: OIDC_* and SESSION_* variables.
import { isIP } from 'node:net'
import type { EnvReader } from '../../env.ts'

/** The backend name OpenID Connect logins carry (logs, metrics, /readyz, AUTH_BACKENDS). */
export const OIDC_BACKEND_NAME = 'oidc'

export const OIDC_DEFAULTS = Object.freeze({
  OIDC_SCOPES: 'openid profile email',
  OIDC_USER_CLAIM: 'preferred_username', // falls back to email, then sub
  OIDC_GROUPS_CLAIM: 'groups',
  AUTH_PATH_PREFIX: '/_auth',
  SESSION_COOKIE_NAME: '_auth_proxy',
  // A working day; refresh tokens renew the identity within it, a new login is needed after it.
  SESSION_LIFETIME_MS: 12 * 3_600_000,
  OIDC_HEALTH_INTERVAL_MS: 30_000,
  OIDC_TIMEOUT_MS: 10_000
})

/** At least 32 characters: the session key is derived from it (HKDF-SHA256) and must not be guessable. */
export const MIN_SECRET_LENGTH = 32

export interface OidcConfig {
  readonly issuerUrl: string
  readonly clientId: string
  readonly clientSecret?: string
  /** Re-read at start-up only. */
  readonly clientSecretFile?: string
  readonly scopes: readonly string[]
  /** Absolute callback URL; when unset, derived from each request (behind TRUST_PROXY, from X-Forwarded-*). */
  readonly redirectUrl?: string
  /** Where the provider sends the browser after logout; default: the site's root. */
  readonly postLogoutRedirectUrl?: string
  readonly userClaim: string
  readonly groupsClaim: string
  /** Lower-case; empty: any. */
  readonly allowedEmailDomains: readonly string[]
  /** Empty: any. */
  readonly allowedGroups: readonly string[]
  /** Audiences accepted in bearer tokens; the client id always is. */
  readonly bearerAudiences: readonly string[]
  readonly passAccessToken: boolean
  readonly healthIntervalMs: number
  readonly timeoutMs: number
}

export interface SessionConfig {
  readonly cookieName: string
  /** `auto`: Secure when the browser's request was HTTPS (behind TRUST_PROXY, per X-Forwarded-Proto). */
  readonly cookieSecure: 'auto' | 'true' | 'false'
  /** Secrets, current first; sessions sealed with any of them are accepted, new ones use the first. */
  readonly secrets: readonly SecretSource[]
  readonly lifetimeMs: number
}

/** A secret given directly or as a file (read at start-up). */
export type SecretSource = { readonly value: string } | { readonly file: string, readonly variable: string }

const COOKIE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/
const PREFIX_RE = /^(\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9_.~-]+)+$/ // no dot-segments
const CLAIM_RE = /^[A-Za-z0-9_:.\-/]{1,128}$/
const OIDC_VARIABLES = ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_CLIENT_SECRET_FILE', 'OIDC_SCOPES', 'OIDC_REDIRECT_URL',
  'OIDC_POST_LOGOUT_REDIRECT_URL', 'OIDC_USER_CLAIM', 'OIDC_GROUPS_CLAIM', 'OIDC_ALLOWED_EMAIL_DOMAINS', 'OIDC_ALLOWED_GROUPS',
  'OIDC_BEARER_AUDIENCES', 'OIDC_PASS_ACCESS_TOKEN', 'OIDC_HEALTH_INTERVAL', 'OIDC_TIMEOUT']

/** Loopback hosts, where plain http:// is acceptable (a provider in the same Pod, tests). */
export function isLoopbackHost (hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

function readUrl (r: EnvReader, name: string, https: boolean): string | undefined {
  const value = r.get(name)
  if (value === undefined) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    r.problem(name, `must be an absolute URL, got "${value}"`)
    return undefined
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    r.problem(name, https ? `must use https:// (http:// only on loopback), got "${value}"` : `must be http(s)://, got "${value}"`)
  } else if (url.username !== '' || url.password !== '' || url.hash !== '') {
    r.problem(name, 'must not contain credentials or a fragment')
  }
  return value
}

function readSecret (r: EnvReader, name: string): SecretSource | undefined {
  const file = r.get(`${name}_FILE`)
  if (file !== undefined) return { file, variable: `${name}_FILE` }
  const value = r.raw(name)
  if (value === undefined) return undefined
  if (value.length < MIN_SECRET_LENGTH) r.problem(name, `must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`)
  return { value }
}

/** AUTH_PATH_PREFIX: the proxy's own endpoints (callback, logout, userinfo); the app never sees this path. */
export function readPathPrefix (r: EnvReader): string {
  const value = (r.get('AUTH_PATH_PREFIX') ?? OIDC_DEFAULTS.AUTH_PATH_PREFIX).replace(/\/$/, '')
  if (!PREFIX_RE.test(value)) r.problem('AUTH_PATH_PREFIX', `must be a plain path such as /_auth, got "${value}"`)
  return value
}

/** Reads OIDC_*; undefined when OIDC_ISSUER_URL is not set. */
export function readOidcConfig (r: EnvReader): OidcConfig | undefined {
  const issuerUrl = readUrl(r, 'OIDC_ISSUER_URL', true)
  if (r.get('OIDC_ISSUER_URL') === undefined) {
    for (const name of OIDC_VARIABLES) if (r.raw(name) !== undefined) r.problem(name, 'is set but OIDC_ISSUER_URL is not')
    return undefined
  }
  const clientId = r.get('OIDC_CLIENT_ID')
  if (clientId === undefined) r.problem('OIDC_CLIENT_ID', 'is required with OIDC_ISSUER_URL')
  const clientSecretFile = r.get('OIDC_CLIENT_SECRET_FILE')
  const clientSecret = r.raw('OIDC_CLIENT_SECRET')
  const scopes = (r.get('OIDC_SCOPES') ?? OIDC_DEFAULTS.OIDC_SCOPES).split(/[\s,]+/).filter((s) => s !== '')
  if (!scopes.includes('openid')) r.problem('OIDC_SCOPES', `must include openid, got "${scopes.join(' ')}"`)
  const claim = (name: string, fallback: string): string => {
    const value = r.get(name) ?? fallback
    if (!CLAIM_RE.test(value)) r.problem(name, `must be a claim name, got "${value}"`)
    return value
  }
  const redirectUrl = readUrl(r, 'OIDC_REDIRECT_URL', true)
  const postLogoutRedirectUrl = readUrl(r, 'OIDC_POST_LOGOUT_REDIRECT_URL', true)
  return {
    issuerUrl: issuerUrl ?? '',
    clientId: clientId ?? '',
    ...(clientSecretFile !== undefined ? { clientSecretFile } : clientSecret !== undefined && { clientSecret }),
    scopes,
    ...(redirectUrl !== undefined && { redirectUrl }),
    ...(postLogoutRedirectUrl !== undefined && { postLogoutRedirectUrl }),
    userClaim: claim('OIDC_USER_CLAIM', OIDC_DEFAULTS.OIDC_USER_CLAIM),
    groupsClaim: claim('OIDC_GROUPS_CLAIM', OIDC_DEFAULTS.OIDC_GROUPS_CLAIM),
    allowedEmailDomains: r.list('OIDC_ALLOWED_EMAIL_DOMAINS').map((d) => d.toLowerCase().replace(/^@/, '')),
    allowedGroups: r.list('OIDC_ALLOWED_GROUPS'),
    bearerAudiences: r.list('OIDC_BEARER_AUDIENCES'),
    passAccessToken: r.boolean('OIDC_PASS_ACCESS_TOKEN', false),
    healthIntervalMs: r.durationMs('OIDC_HEALTH_INTERVAL', OIDC_DEFAULTS.OIDC_HEALTH_INTERVAL_MS),
    timeoutMs: r.durationMs('OIDC_TIMEOUT', OIDC_DEFAULTS.OIDC_TIMEOUT_MS)
  }
}

/** Reads SESSION_*; required when OIDC is configured, refused otherwise (it would do nothing). */
export function readSessionConfig (r: EnvReader, oidc: boolean): SessionConfig | undefined {
  const current = readSecret(r, 'SESSION_SECRET')
  const previous = readSecret(r, 'SESSION_SECRET_PREVIOUS')
  if (!oidc) {
    for (const name of ['SESSION_SECRET', 'SESSION_SECRET_FILE', 'SESSION_SECRET_PREVIOUS', 'SESSION_SECRET_PREVIOUS_FILE', 'SESSION_COOKIE_NAME', 'SESSION_COOKIE_SECURE', 'SESSION_LIFETIME']) {
      if (r.raw(name) !== undefined) r.problem(name, 'is set but OIDC_ISSUER_URL is not (sessions are for OpenID Connect logins)')
    }
    return undefined
  }
  if (current === undefined) {
    r.problem('SESSION_SECRET', 'is required with OIDC_ISSUER_URL (or SESSION_SECRET_FILE): every replica must share it')
  }
  if (previous !== undefined && current === undefined) r.problem('SESSION_SECRET_PREVIOUS', 'is set but SESSION_SECRET is not')
  const cookieName = r.get('SESSION_COOKIE_NAME') ?? OIDC_DEFAULTS.SESSION_COOKIE_NAME
  if (!COOKIE_NAME_RE.test(cookieName)) r.problem('SESSION_COOKIE_NAME', `must be 1-64 letters, digits, "_" or "-", got "${cookieName}"`)
  const cookieSecure = r.oneOf('SESSION_COOKIE_SECURE', ['auto', 'true', 'false'], 'auto') as SessionConfig['cookieSecure']
  return {
    cookieName,
    cookieSecure,
    secrets: [current, previous].filter((s): s is SecretSource => s !== undefined),
    lifetimeMs: r.durationMs('SESSION_LIFETIME', OIDC_DEFAULTS.SESSION_LIFETIME_MS)
  }
}
