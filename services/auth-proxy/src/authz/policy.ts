// Applying the rules to a request. PUBLIC_PATHS come first (each an exact path made public), then the rules of
// AUTHZ_RULES_FILE, then its default; the first rule that matches decides.
//
// Path confusion is the classic way past such rules (oauth2-proxy GHSA-pxq7-h93f-9jrg, Envoy CVE-2021-29492): a
// rule that restricts `/admin` must also hold for `/%61dmin`, `//admin`, `/admin;x` or `/ADMIN` if the app reads
// them as `/admin`, and a public rule must not open more than it names. So the rules are applied to each reading
// of the path the app might make — as sent; percent-decoded, `;parameters` dropped, repeated and trailing slashes
// merged; and that in lower case — and the request must pass every reading's rule: it is public only if every
// reading is public, and allowed only if every reading's rule allows the user. Dot-segments, backslashes and bad
// escapes never get here (request-guard.ts refuses them first). The query and fragment are never matched.
import type { Identity } from '../auth/identity.ts'
import type { PublicPath } from '../config.ts'
import { pathForms, permits, type Rule, type RuleSet } from './rules.ts'

/** The request a decision is about: the one received, or (forward-auth) the one an ingress describes. */
export interface Described {
  readonly method: string
  /** Lower case, without the port. */
  readonly host: string
  /** The raw path, without the query. */
  readonly path: string
}

export interface Decision {
  /** Every reading's rule, once each. */
  readonly rules: readonly Rule[]
  /** No login needed: every reading's rule is public. */
  readonly public: boolean
  /** For the log line: `rules[2]`, or `rules[2]+default` when readings disagree. */
  readonly label: string
}

/**
 * The readings of `path` an app might make (see above): as sent; normalised; normalised in lower case — each
 * compared with the rule's path in the same form (rules.ts pathForms), so `path: /Settings/` means the same in all.
 * The request guard has refused escapes that are not UTF-8, so decoding cannot fail here; if it did, the raw path
 * would stand in (and the guard would be the bug).
 */
export function readings (path: string): [string, string, string] {
  let decoded = path
  try { decoded = decodeURIComponent(path) } catch { /* see above */ }
  const normal = decoded.split('/').map((segment) => segment.replace(/;.*$/s, '')).join('/').replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1')
  return [path, normal, normal.toLowerCase()]
}

function hostMatches (hosts: readonly string[] | undefined, host: string): boolean {
  if (hosts === undefined) return true
  return hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : h === host))
}

function pathMatches (rule: Rule, path: string, form: 0 | 1 | 2): boolean {
  const mine = rule.forms?.[form]
  if (mine === undefined) return true
  if (rule.path !== undefined) return path === mine
  if (mine === '/') return true
  // A prefix names a subtree: /admin matches /admin and /admin/…, never /administrator.
  return path === mine || (path.startsWith(mine) && path.charAt(mine.length) === '/')
}

function methodMatches (methods: ReadonlySet<string> | undefined, method: string): boolean {
  // RFC 9110 §9.3.2: HEAD is GET without the body, so a rule about GET is one about HEAD.
  return methods === undefined || methods.has(method) || (method === 'HEAD' && methods.has('GET'))
}

/** PUBLIC_PATHS as rules: each exact path (and method) public. */
export function publicPathRules (paths: readonly PublicPath[]): Rule[] {
  return paths.map((p, i) => ({
    label: `PUBLIC_PATHS[${i}]`,
    path: p.path,
    forms: pathForms(p.path),
    ...(p.method !== undefined && { methods: new Set([p.method]) }),
    access: { kind: 'public' } as const
  }))
}

function decisionOf (rules: readonly Rule[]): Decision {
  return { rules, public: rules.every((r) => r.access.kind === 'public'), label: rules.map((r) => r.label).join('+') }
}

export class Policy {
  readonly #leading: readonly Rule[]
  readonly #current: () => RuleSet

  /** `current`: the rules in force now (a hot-reloaded file's latest good version). */
  constructor (publicPaths: readonly PublicPath[], current: () => RuleSet) {
    this.#leading = publicPathRules(publicPaths)
    this.#current = current
  }

  #first (described: Described, path: string, form: 0 | 1 | 2, set: RuleSet): Rule {
    for (const rules of [this.#leading, set.rules]) {
      for (const rule of rules) {
        if (pathMatches(rule, path, form) && methodMatches(rule.methods, described.method) && hostMatches(rule.hosts, described.host)) return rule
      }
    }
    return set.fallback
  }

  /** The decision when no rule can match (no PUBLIC_PATHS, no rules: the default alone), for the set it was made for. */
  #onlyFallback: { readonly set: RuleSet, readonly decision: Decision } | undefined

  evaluate (described: Described): Decision {
    const set = this.#current()
    // Every reading would end at the default: decided without computing them (the usual sidecar, on every request).
    if (this.#leading.length === 0 && set.rules.length === 0) {
      if (this.#onlyFallback?.set !== set) this.#onlyFallback = { set, decision: decisionOf([set.fallback]) }
      return this.#onlyFallback.decision
    }
    const [raw, normal, lower] = readings(described.path)
    return decisionOf([...new Set([this.#first(described, raw, 0, set), this.#first(described, normal, 1, set), this.#first(described, lower, 2, set)])])
  }

  /** Whether `identity` may make the request the decision is about: every reading's rule must allow it. */
  allows (decision: Decision, identity: Identity): boolean {
    return decision.rules.every((r) => permits(r.access, identity))
  }
}
