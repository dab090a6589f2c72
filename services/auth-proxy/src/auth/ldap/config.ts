// The LDAP part of the configuration schema: LDAP_* variables, validated and reported like every other setting.
import { createRequire } from 'node:module'
import type { EnvReader } from '../../env.ts'
import { parseDn } from './syntax.ts'
import { isLoopbackHost } from '../oidc/config.ts'

export const LDAP_DEFAULTS = Object.freeze({
  LDAP_SEARCH_FILTER: '(uid={user})',
  LDAP_USER_ATTRIBUTE: 'uid',
  // A login waits for these on a cache miss: long enough for a busy directory, short enough to fail over.
  LDAP_CONNECT_TIMEOUT_MS: 3_000,
  LDAP_TIMEOUT_MS: 5_000,
  // How often a directory marked down is tried again (and an idle one checked), for /readyz.
  LDAP_HEALTH_INTERVAL_MS: 10_000
})

/** The placeholder replaced by the (escaped) user name in LDAP_BIND_DN_TEMPLATE and LDAP_SEARCH_FILTER. */
export const USER_PLACEHOLDER = '{user}'

export interface LdapConfig {
  /** In failover order. */
  readonly urls: readonly string[]
  readonly startTls: boolean
  readonly caFile?: string
  /** Direct bind: the user's DN is this template with {user} replaced. */
  readonly bindDnTemplate?: string
  /** Service account for searches (search-then-bind) and group lookups; anonymous when unset. */
  readonly bindDn?: string
  readonly bindPassword?: string
  /** Re-read whenever the service account binds afresh, so a rotated Secret is picked up. */
  readonly bindPasswordFile?: string
  readonly searchBase?: string
  readonly searchFilter: string
  /** Attribute of the user's entry passed upstream as the user name (the directory's spelling, not the typed one). */
  readonly userAttribute: string
  /** Where groups listing the user in member/uniqueMember are searched; defaults to LDAP_SEARCH_BASE. */
  readonly groupSearchBase?: string
  /** DNs; the user must be a member of at least one. Empty: no group gate. */
  readonly requiredGroups: readonly string[]
  readonly connectTimeoutMs: number
  readonly timeoutMs: number
  readonly healthIntervalMs: number
}

/** Every variable of this schema; setting any of them without LDAP_URL is a mistake worth reporting. */
const LDAP_VARIABLES = ['LDAP_STARTTLS', 'LDAP_CA_FILE', 'LDAP_BIND_DN_TEMPLATE', 'LDAP_BIND_DN', 'LDAP_BIND_PASSWORD',
  'LDAP_BIND_PASSWORD_FILE', 'LDAP_SEARCH_BASE', 'LDAP_SEARCH_FILTER', 'LDAP_USER_ATTRIBUTE', 'LDAP_GROUP_SEARCH_BASE',
  'LDAP_REQUIRED_GROUPS', 'LDAP_CONNECT_TIMEOUT', 'LDAP_TIMEOUT', 'LDAP_HEALTH_INTERVAL']

const ATTRIBUTE_RE = /^[A-Za-z][A-Za-z0-9-]*$/

function readUrls (r: EnvReader): string[] {
  const urls: string[] = []
  for (const item of r.list('LDAP_URL').flatMap((i) => i.split(/\s+/))) {
    let url: URL
    try {
      url = new URL(item)
    } catch {
      r.problem('LDAP_URL', `"${item}" is not a URL such as ldaps://ldap.example.org`)
      continue
    }
    if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
      r.problem('LDAP_URL', `"${item}" must use ldap:// or ldaps://`)
    } else if (url.hostname === '' || url.username !== '' || url.password !== '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      // Base DNs and filters are separate settings; an RFC 4516 URL's extras would be silently ignored.
      r.problem('LDAP_URL', `"${item}" must be scheme, host and optional port only`)
    } else {
      urls.push(`${url.protocol}//${url.host}`)
    }
  }
  return urls
}

function readDn (r: EnvReader, name: string, template = false): string | undefined {
  const value = r.get(name)
  if (value === undefined) return undefined
  try {
    const rdns = parseDn(template ? value.replaceAll(USER_PLACEHOLDER, 'x') : value)
    if (rdns.length === 0) throw new Error('empty')
  } catch (err) {
    r.problem(name, `"${value}" is not a valid distinguished name (${(err as Error).message})`)
  }
  if (template && !value.includes(USER_PLACEHOLDER)) r.problem(name, `must contain ${USER_PLACEHOLDER}, got "${value}"`)
  return value
}

function readFilter (r: EnvReader): string {
  const value = r.get('LDAP_SEARCH_FILTER') ?? LDAP_DEFAULTS.LDAP_SEARCH_FILTER
  if (!value.includes(USER_PLACEHOLDER)) r.problem('LDAP_SEARCH_FILTER', `must contain ${USER_PLACEHOLDER}, got "${value}"`)
  try {
    // ldapts' own parser, loaded here only when LDAP is configured (configuration is read synchronously).
    const { FilterParser } = createRequire(import.meta.url)('ldapts') as typeof import('ldapts')
    FilterParser.parseString(value.replaceAll(USER_PLACEHOLDER, 'x'))
  } catch {
    r.problem('LDAP_SEARCH_FILTER', `"${value}" is not a valid LDAP filter such as (uid={user})`)
  }
  return value
}

/** LDAP_REQUIRED_GROUPS: DNs separated by ";" or newlines — DNs contain commas, and RFC 4514 escapes every ";". */
function readGroups (r: EnvReader): string[] {
  const value = r.get('LDAP_REQUIRED_GROUPS')
  if (value === undefined) return []
  const groups = value.split(/(?<!\\);|\n/).map((g) => g.trim()).filter((g) => g !== '')
  for (const group of groups) {
    try {
      if (parseDn(group).length === 0) throw new Error('empty')
    } catch (err) {
      r.problem('LDAP_REQUIRED_GROUPS', `"${group}" is not a valid distinguished name (${(err as Error).message}); separate DNs with ";"`)
    }
  }
  return groups
}

/** True for an ldap:// URL to a host other than this machine: passwords would cross the network in clear. */
export function isCleartextRemote (url: string, startTls: boolean): boolean {
  return !startTls && url.startsWith('ldap://') && !isLoopbackHost(new URL(url).hostname)
}

/** Reads LDAP_*; undefined when LDAP is not configured. */
export function readLdapConfig (r: EnvReader): LdapConfig | undefined {
  if (r.get('LDAP_URL') === undefined) {
    for (const name of LDAP_VARIABLES) if (r.raw(name) !== undefined) r.problem(name, 'is set but LDAP_URL is not')
    return undefined
  }
  const urls = readUrls(r)
  const startTls = r.boolean('LDAP_STARTTLS', false)
  if (startTls && urls.some((u) => u.startsWith('ldaps:'))) {
    r.problem('LDAP_STARTTLS', 'cannot be combined with ldaps:// (already TLS); use ldap:// with StartTLS, or ldaps:// alone')
  }
  const bindDnTemplate = readDn(r, 'LDAP_BIND_DN_TEMPLATE', true)
  const bindDn = readDn(r, 'LDAP_BIND_DN')
  const bindPassword = r.raw('LDAP_BIND_PASSWORD')
  const bindPasswordFile = r.get('LDAP_BIND_PASSWORD_FILE')
  const searchBase = readDn(r, 'LDAP_SEARCH_BASE')
  const groupSearchBase = readDn(r, 'LDAP_GROUP_SEARCH_BASE') ?? searchBase
  if (bindDnTemplate === undefined && searchBase === undefined) {
    r.problem('LDAP_BIND_DN_TEMPLATE', 'or LDAP_SEARCH_BASE must be set: direct bind with a DN template, or search-then-bind')
  } else if (bindDnTemplate !== undefined && r.get('LDAP_SEARCH_BASE') !== undefined) {
    r.problem('LDAP_SEARCH_BASE', 'cannot be combined with LDAP_BIND_DN_TEMPLATE: choose direct bind or search-then-bind')
  }
  if (bindDn !== undefined && bindPassword === undefined && bindPasswordFile === undefined) {
    r.problem('LDAP_BIND_DN', 'is set but neither LDAP_BIND_PASSWORD nor LDAP_BIND_PASSWORD_FILE is')
  }
  if (bindDn === undefined && (bindPassword !== undefined || bindPasswordFile !== undefined)) {
    r.problem(bindPassword !== undefined ? 'LDAP_BIND_PASSWORD' : 'LDAP_BIND_PASSWORD_FILE', 'is set but LDAP_BIND_DN is not')
  }
  const userAttribute = r.get('LDAP_USER_ATTRIBUTE') ?? LDAP_DEFAULTS.LDAP_USER_ATTRIBUTE
  if (!ATTRIBUTE_RE.test(userAttribute)) r.problem('LDAP_USER_ATTRIBUTE', `must be an attribute name such as uid, got "${userAttribute}"`)
  const caFile = r.get('LDAP_CA_FILE')
  return {
    urls,
    startTls,
    ...(caFile !== undefined && { caFile }),
    ...(bindDnTemplate !== undefined && { bindDnTemplate }),
    ...(bindDn !== undefined && { bindDn }),
    ...(bindPasswordFile !== undefined ? { bindPasswordFile } : bindPassword !== undefined && { bindPassword }),
    ...(searchBase !== undefined && { searchBase }),
    searchFilter: readFilter(r),
    userAttribute,
    ...(groupSearchBase !== undefined && { groupSearchBase }),
    requiredGroups: readGroups(r),
    connectTimeoutMs: r.durationMs('LDAP_CONNECT_TIMEOUT', LDAP_DEFAULTS.LDAP_CONNECT_TIMEOUT_MS),
    timeoutMs: r.durationMs('LDAP_TIMEOUT', LDAP_DEFAULTS.LDAP_TIMEOUT_MS),
    healthIntervalMs: r.durationMs('LDAP_HEALTH_INTERVAL', LDAP_DEFAULTS.LDAP_HEALTH_INTERVAL_MS)
  }
}
