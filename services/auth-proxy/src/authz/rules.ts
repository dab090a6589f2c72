// Who may do what: the rules of AUTHZ_RULES_FILE, parsed and checked. An ordered list; the first rule whose host,
// path and methods match the request decides (policy.ts); none matching, `default` does. A rule names who is
// allowed — `public` (no login), `authenticated` (anyone who logs in), or users and groups — or who is denied
// (`all`, or users and groups: everyone else who logs in is allowed). Every problem in a file is reported at once,
// each naming the rule and the field, as the settings are.
import type { Identity } from '../auth/identity.ts'

/** What a matching rule requires. */
export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'allow', readonly users: ReadonlySet<string>, readonly groups: ReadonlySet<string> }
  | { readonly kind: 'deny', readonly users: ReadonlySet<string>, readonly groups: ReadonlySet<string> }
  | { readonly kind: 'deny-all' }

export interface Rule {
  /** For the log line and /readyz: `rules[2]`, `PUBLIC_PATHS[0]`, `default`. */
  readonly label: string
  /** Lower-case host names; `*.example.org` matches any subdomain. Absent: any host. */
  readonly hosts?: readonly string[]
  /** Exactly this path … */
  readonly path?: string
  /** … or this path and everything below it (`/admin`: `/admin`, `/admin/…`, never `/administrator`). */
  readonly prefix?: string
  /** The path or prefix in each form a reading of a request's path takes (policy.ts): as written, normalised, lower case. */
  readonly forms?: PathForms
  /** Upper-case; GET also matches HEAD. Absent: any method. */
  readonly methods?: ReadonlySet<string>
  readonly access: Access
}

export interface RuleSet {
  readonly rules: readonly Rule[]
  /** When no rule matches: `authenticated` (anyone who logs in; the proxy without rules) or `deny`. */
  readonly fallback: Rule
}

export const DEFAULT_RULE: Rule = Object.freeze({ label: 'default', access: Object.freeze({ kind: 'authenticated' }) })
const DENY_DEFAULT: Rule = Object.freeze({ label: 'default', access: Object.freeze({ kind: 'deny-all' }) })

/** Whether `identity` passes `access` (public and authenticated: anyone who got this far). */
export function permits (access: Access, identity: Identity): boolean {
  switch (access.kind) {
    case 'public':
    case 'authenticated':
      return true
    case 'deny-all':
      return false
    case 'allow':
      return access.users.has(identity.user) || (identity.groups ?? []).some((g) => access.groups.has(g))
    case 'deny':
      return !(access.users.has(identity.user) || (identity.groups ?? []).some((g) => access.groups.has(g)))
  }
}

const METHOD_RE = /^[A-Z]+$/
const HOST_RE = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/
const RULE_KEYS = new Set(['host', 'path', 'prefix', 'methods', 'allow', 'deny'])

/**
 * A path a rule or PUBLIC_PATHS may name: absolute and plain — nothing encoded, parameterised or relative, which
 * could read differently at the app (policy.ts matches every reading of the request's path instead).
 */
export function plainPathProblem (path: string): string | undefined {
  if (!path.startsWith('/') || /[?#;%\\\s]/.test(path) || /(^|\/)\.{1,2}(\/|$)/.test(path) || path.includes('//')) {
    return `"${path}" must be a plain absolute path without ?, #, ;, %, \\, spaces, // or dot-segments`
  }
  return undefined
}

/** A rule's path as compared with each reading of a request's path: as sent, normalised, lower-cased. */
export type PathForms = readonly [string, string, string]

/** A plain path's forms: as written; without its trailing slash (the normalised reading drops it too); lower case. */
export function pathForms (path: string): PathForms {
  const normal = path.length > 1 ? path.replace(/\/+$/, '') : path
  return [path, normal, normal.toLowerCase()]
}

/** Problems go here, each "rules[i].field: message". */
type Report = (where: string, message: string) => void

function stringList (value: unknown, where: string, report: Report): string[] | undefined {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v.trim() !== '')) {
    report(where, 'must be a name or a non-empty list of names')
    return undefined
  }
  // "alice, bob" would be one user of that name — a deny that silently denies nobody.
  for (const v of list as string[]) if (v.includes(',')) report(where, `"${v}" holds a comma: write a list, [${v.split(',').map((x) => x.trim()).join(', ')}]`)
  return (list as string[]).map((v) => v.trim())
}

function subjects (value: unknown, where: string, report: Report): { users: Set<string>, groups: Set<string> } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) if (key !== 'users' && key !== 'groups') report(`${where}.${key}`, 'is not a field (users, groups)')
  if (v.users === undefined && v.groups === undefined) { report(where, 'names no users and no groups'); return undefined }
  const users = v.users === undefined ? [] : stringList(v.users, `${where}.users`, report) ?? []
  const groups = v.groups === undefined ? [] : stringList(v.groups, `${where}.groups`, report) ?? []
  return { users: new Set(users), groups: new Set(groups) }
}

function readAccess (rule: Record<string, unknown>, where: string, report: Report): Access | undefined {
  if ((rule.allow === undefined) === (rule.deny === undefined)) { report(where, 'needs exactly one of allow or deny'); return undefined }
  if (rule.allow !== undefined) {
    if (rule.allow === 'public' || rule.allow === 'authenticated') return { kind: rule.allow }
    const s = subjects(rule.allow, `${where}.allow`, report)
    if (s === undefined) { report(`${where}.allow`, 'must be public, authenticated, or { users: […], groups: […] }'); return undefined }
    return { kind: 'allow', ...s }
  }
  if (rule.deny === 'all') return { kind: 'deny-all' }
  const s = subjects(rule.deny, `${where}.deny`, report)
  if (s === undefined) { report(`${where}.deny`, 'must be all, or { users: […], groups: […] }'); return undefined }
  return { kind: 'deny', ...s }
}

function readMatch (rule: Record<string, unknown>, where: string, report: Report): Omit<Rule, 'label' | 'access'> {
  const out: { hosts?: string[], path?: string, prefix?: string, forms?: PathForms, methods?: Set<string> } = {}
  if (rule.host !== undefined) {
    const hosts = stringList(rule.host, `${where}.host`, report)?.map((h) => h.toLowerCase())
    for (const h of hosts ?? []) if (!HOST_RE.test(h)) report(`${where}.host`, `"${h}" is not a host name (no port; *.example.org for subdomains)`)
    if (hosts !== undefined) out.hosts = hosts
  }
  if (rule.path !== undefined && rule.prefix !== undefined) report(where, 'has both path and prefix; use one')
  for (const key of ['path', 'prefix'] as const) {
    const value = rule[key]
    if (value === undefined) continue
    const problem = typeof value === 'string' ? plainPathProblem(value) : 'must be a path'
    if (problem !== undefined) report(`${where}.${key}`, problem)
    // A prefix names a subtree: a trailing slash adds nothing (`/admin/` is `/admin`, and matches `/admin` itself).
    else {
      out[key] = key === 'prefix' && (value as string).length > 1 ? (value as string).replace(/\/+$/, '') : value as string
      out.forms = pathForms(out[key])
    }
  }
  if (rule.methods !== undefined) {
    const methods = stringList(rule.methods, `${where}.methods`, report)?.map((m) => m.toUpperCase())
    for (const m of methods ?? []) if (!METHOD_RE.test(m)) report(`${where}.methods`, `"${m}" is not a method`)
    if (methods !== undefined) out.methods = new Set(methods)
  }
  return out
}

/** The rules of a parsed AUTHZ_RULES_FILE document; throws one Error listing every problem. */
export function readRuleSet (doc: unknown): RuleSet {
  const problems: string[] = []
  const report: Report = (where, message) => { problems.push(`${where}: ${message}`) }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('must be a mapping with `rules:` (and optionally `default:`)')
  const top = doc as Record<string, unknown>
  for (const key of Object.keys(top)) if (key !== 'rules' && key !== 'default') report(key, 'is not a field (rules, default)')
  let fallback = DEFAULT_RULE
  if (top.default === 'deny') fallback = DENY_DEFAULT
  else if (top.default !== undefined && top.default !== 'authenticated') report('default', 'must be authenticated or deny')
  const list = top.rules ?? []
  if (!Array.isArray(list)) report('rules', 'must be a list')
  const rules: Rule[] = []
  for (const [i, item] of (Array.isArray(list) ? list : []).entries()) {
    const where = `rules[${i}]`
    if (item === null || typeof item !== 'object' || Array.isArray(item)) { report(where, 'must be a mapping'); continue }
    const rule = item as Record<string, unknown>
    for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) report(`${where}.${key}`, `is not a field (${[...RULE_KEYS].join(', ')})`)
    const match = readMatch(rule, where, report)
    const access = readAccess(rule, where, report)
    if (access !== undefined) rules.push({ label: where, ...match, access })
  }
  if (problems.length > 0) throw new Error(problems.join('; '))
  return { rules, fallback }
}
