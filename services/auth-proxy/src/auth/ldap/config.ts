// The LDAP part of the configuration schema: LDAP_* variables, validated and reported like every other setting.
import { createRequire } from 'node:module'
import type { EnvReader } from '../../config/reader.ts'
import { parseDn } from './syntax.ts'
import { settingsIn } from '../../config/settings.ts'
import { isLoopbackHost } from '../../util/net.ts'


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


const ATTRIBUTE_RE = /^[A-Za-z][A-Za-z0-9-]*$/

function readUrls (r: EnvReader): string[] {
  const urls: string[] = []
  for (const item of r.value('LDAP_URL').flatMap((i) => i.split(/\s+/))) {
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
  const value = r.value('LDAP_SEARCH_FILTER')
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
    // Setting any of them without LDAP_URL is a mistake worth reporting.
    r.onlyWith(settingsIn('LDAP'), 'LDAP_URL')
    return undefined
  }
  const urls = readUrls(r)
  const startTls = r.value('LDAP_STARTTLS')
  if (startTls && urls.some((u) => u.startsWith('ldaps:'))) {
    r.problem('LDAP_STARTTLS', 'cannot be combined with ldaps:// (already TLS); use ldap:// with StartTLS, or ldaps:// alone')
  }
  const bindDnTemplate = readDn(r, 'LDAP_BIND_DN_TEMPLATE', true)
  const bindDn = readDn(r, 'LDAP_BIND_DN')
  const bindSecret = r.secret('LDAP_BIND_PASSWORD')
  const searchBase = readDn(r, 'LDAP_SEARCH_BASE')
  const groupSearchBase = readDn(r, 'LDAP_GROUP_SEARCH_BASE') ?? searchBase
  if (bindDnTemplate === undefined && searchBase === undefined) {
    r.problem('LDAP_BIND_DN_TEMPLATE', 'or LDAP_SEARCH_BASE must be set: direct bind with a DN template, or search-then-bind')
  } else if (bindDnTemplate !== undefined && r.get('LDAP_SEARCH_BASE') !== undefined) {
    r.problem('LDAP_SEARCH_BASE', 'cannot be combined with LDAP_BIND_DN_TEMPLATE: choose direct bind or search-then-bind')
  }
  if (bindDn !== undefined && bindSecret === undefined) {
    r.problem('LDAP_BIND_DN', 'is set but neither LDAP_BIND_PASSWORD nor LDAP_BIND_PASSWORD_FILE is')
  }
  if (bindDn === undefined) r.onlyWith(['LDAP_BIND_PASSWORD'], 'LDAP_BIND_DN')
  const userAttribute = r.value('LDAP_USER_ATTRIBUTE')
  if (!ATTRIBUTE_RE.test(userAttribute)) r.problem('LDAP_USER_ATTRIBUTE', `must be an attribute name such as uid, got "${userAttribute}"`)
  const caFile = r.get('LDAP_CA_FILE')
  return {
    urls,
    startTls,
    ...(caFile !== undefined && { caFile }),
    ...(bindDnTemplate !== undefined && { bindDnTemplate }),
    ...(bindDn !== undefined && { bindDn }),
    ...(bindSecret !== undefined && ('file' in bindSecret ? { bindPasswordFile: bindSecret.file } : { bindPassword: bindSecret.value })),
    ...(searchBase !== undefined && { searchBase }),
    searchFilter: readFilter(r),
    userAttribute,
    ...(groupSearchBase !== undefined && { groupSearchBase }),
    requiredGroups: readGroups(r),
    connectTimeoutMs: r.value('LDAP_CONNECT_TIMEOUT'),
    timeoutMs: r.value('LDAP_TIMEOUT'),
    healthIntervalMs: r.value('LDAP_HEALTH_INTERVAL')
  }
}
