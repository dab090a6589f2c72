// The OpenID Connect and session part of the configuration schema: OIDC_* and SESSION_* variables.
import type { EnvReader, SecretSource } from '../../config/reader.ts'
import { settingsIn } from '../../config/settings.ts'
import { isLoopbackHost } from '../../util/net.ts'

/** The backend name OpenID Connect logins carry (logs, metrics, /readyz, AUTH_BACKENDS). */
export const OIDC_BACKEND_NAME = 'oidc'


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
  /** The cookie's Domain attribute (SESSION_COOKIE_DOMAIN); absent: host-only. */
  readonly cookieDomain?: string
  /** `auto`: Secure when the browser's request was HTTPS (behind TRUST_PROXY, per X-Forwarded-Proto). */
  readonly cookieSecure: 'auto' | 'true' | 'false'
  /** Secrets, current first; sessions sealed with any of them are accepted, new ones use the first. */
  readonly secrets: readonly SecretSource[]
  readonly lifetimeMs: number
}


const COOKIE_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/
const PREFIX_RE = /^(\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9_.~-]+)+$/ // no dot-segments
const CLAIM_RE = /^[A-Za-z0-9_:.\-/]{1,128}$/

/** An https:// URL setting (http:// only to a loopback host), or undefined when unset. */
function readUrl (r: EnvReader, name: 'OIDC_ISSUER_URL' | 'OIDC_REDIRECT_URL' | 'OIDC_POST_LOGOUT_REDIRECT_URL'): string | undefined {
  const value = r.value(name)
  if (value === undefined) return undefined
  r.url(name, value, ['https:', 'http:'], { plainOnlyOnLoopback: isLoopbackHost })
  return value
}

function readSecret (r: EnvReader, name: 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS'): SecretSource | undefined {
  const secret = r.secret(name)
  if (secret !== undefined && 'value' in secret && secret.value.length < MIN_SECRET_LENGTH) {
    r.problem(name, `must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`)
  }
  return secret
}

/** AUTH_PATH_PREFIX: the proxy's own endpoints (callback, logout, userinfo); the app never sees this path. */
export function readPathPrefix (r: EnvReader): string {
  const value = (r.value('AUTH_PATH_PREFIX')).replace(/\/$/, '')
  if (!PREFIX_RE.test(value)) r.problem('AUTH_PATH_PREFIX', `must be a plain path such as /_auth, got "${value}"`)
  return value
}

/** Reads OIDC_*; undefined when OIDC_ISSUER_URL is not set. */
export function readOidcConfig (r: EnvReader): OidcConfig | undefined {
  const issuerUrl = readUrl(r, 'OIDC_ISSUER_URL')
  if (issuerUrl === undefined) {
    r.onlyWith(settingsIn('OpenID Connect'), 'OIDC_ISSUER_URL')
    return undefined
  }
  const clientId = r.get('OIDC_CLIENT_ID')
  if (clientId === undefined) r.problem('OIDC_CLIENT_ID', 'is required with OIDC_ISSUER_URL')
  const clientSecret = r.secret('OIDC_CLIENT_SECRET')
  const scopes = (r.value('OIDC_SCOPES')).split(/[\s,]+/).filter((s) => s !== '')
  if (!scopes.includes('openid')) r.problem('OIDC_SCOPES', `must include openid, got "${scopes.join(' ')}"`)
  const claim = (name: 'OIDC_USER_CLAIM' | 'OIDC_GROUPS_CLAIM'): string => {
    const value = r.value(name)
    if (!CLAIM_RE.test(value)) r.problem(name, `must be a claim name, got "${value}"`)
    return value
  }
  const redirectUrl = readUrl(r, 'OIDC_REDIRECT_URL')
  const postLogoutRedirectUrl = readUrl(r, 'OIDC_POST_LOGOUT_REDIRECT_URL')
  return {
    issuerUrl,
    clientId: clientId ?? '',
    ...(clientSecret !== undefined && ('file' in clientSecret ? { clientSecretFile: clientSecret.file } : { clientSecret: clientSecret.value })),
    scopes,
    ...(redirectUrl !== undefined && { redirectUrl }),
    ...(postLogoutRedirectUrl !== undefined && { postLogoutRedirectUrl }),
    userClaim: claim('OIDC_USER_CLAIM'),
    groupsClaim: claim('OIDC_GROUPS_CLAIM'),
    allowedEmailDomains: r.value('OIDC_ALLOWED_EMAIL_DOMAINS').map((d) => d.toLowerCase().replace(/^@/, '')),
    allowedGroups: r.value('OIDC_ALLOWED_GROUPS'),
    bearerAudiences: r.value('OIDC_BEARER_AUDIENCES'),
    passAccessToken: r.value('OIDC_PASS_ACCESS_TOKEN'),
    healthIntervalMs: r.value('OIDC_HEALTH_INTERVAL'),
    timeoutMs: r.value('OIDC_TIMEOUT')
  }
}

/** Reads SESSION_*; required when OIDC is configured, refused otherwise (it would do nothing). */
export function readSessionConfig (r: EnvReader, oidc: boolean): SessionConfig | undefined {
  const current = readSecret(r, 'SESSION_SECRET')
  const previous = readSecret(r, 'SESSION_SECRET_PREVIOUS')
  if (!oidc) {
    r.onlyWith(settingsIn('Sessions').filter((name) => name !== 'AUTH_PATH_PREFIX'), 'OIDC_ISSUER_URL', ' (sessions are for OpenID Connect logins)')
    return undefined
  }
  if (current === undefined) {
    r.problem('SESSION_SECRET', 'is required with OIDC_ISSUER_URL (or SESSION_SECRET_FILE): every replica must share it')
  }
  if (previous !== undefined && current === undefined) r.problem('SESSION_SECRET_PREVIOUS', 'is set but SESSION_SECRET is not')
  const cookieName = r.value('SESSION_COOKIE_NAME')
  if (!COOKIE_NAME_RE.test(cookieName)) r.problem('SESSION_COOKIE_NAME', `must be 1-64 letters, digits, "_" or "-", got "${cookieName}"`)
  const cookieSecure = r.value('SESSION_COOKIE_SECURE') as SessionConfig['cookieSecure']
  const cookieDomain = r.value('SESSION_COOKIE_DOMAIN')?.toLowerCase().replace(/^\./, '')
  if (cookieDomain !== undefined && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(cookieDomain)) {
    r.problem('SESSION_COOKIE_DOMAIN', `must be a domain such as example.org (RFC 6265 §5.2.3), got "${cookieDomain}"`)
  }
  return {
    cookieName,
    ...(cookieDomain !== undefined && { cookieDomain }),
    cookieSecure,
    secrets: [current, previous].filter((s): s is SecretSource => s !== undefined),
    lifetimeMs: r.value('SESSION_LIFETIME')
  }
}
