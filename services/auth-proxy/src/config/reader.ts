// Reading environment variables with validation that collects problems instead of stopping at the first,
// so an operator sees every mistake in one start-up message. `value(NAME)` reads any declared setting by its
// kind and default (settings.ts); the typed readers below do the parsing.
import { fileVariant, SETTINGS, type Kind, type SettingName } from './settings.ts'

const DURATION_RE = /^(\d+)(ms|s|m|h)?$/
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export type Env = Readonly<Record<string, string | undefined>>

type KindValue<K extends Kind> = K extends { type: 'port' | 'duration' | 'integer' } ? number
  : K extends { type: 'boolean' } ? boolean
    : K extends { type: 'list' } ? string[] : string
type Declared<N extends SettingName> = (typeof SETTINGS)[N]
/** What value(NAME) returns: the kind's type; undefined when the setting has no default and is not set (lists: []). */
export type SettingValue<N extends SettingName> = Declared<N> extends { default: string } | { kind: { type: 'list' } }
  ? KindValue<Declared<N>['kind']> : KindValue<Declared<N>['kind']> | undefined

/** A secret given directly or as a file (NAME_FILE, read later; the file wins). */
export type SecretSource = { readonly value: string } | { readonly file: string, readonly variable: string }

/** A duration in ms ("500ms", "5s", "2m", "1h", a bare number of seconds), or NaN. */
export function parseDuration (value: string): number {
  const match = DURATION_RE.exec(value)
  return match ? Number(match[1]) * (DURATION_UNIT_MS[match[2] ?? 's'] ?? 1000) : Number.NaN
}

/** Collects problems while reading variables, so all of them are reported at once. */
export class EnvReader {
  readonly problems: string[] = []
  readonly #env: Env
  constructor (env: Env) { this.#env = env }

  /** The trimmed value, or undefined when unset or blank. */
  get (name: string): string | undefined {
    const value = this.#env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  /** The raw value (no trimming): passwords may legitimately begin or end with spaces. */
  raw (name: string): string | undefined {
    const value = this.#env[name]
    return value === undefined || value === '' ? undefined : value
  }

  problem (name: string, message: string): void { this.problems.push(`${name}: ${message}`) }

  /** Whether the variable is set at all (even blank-trimmed values count as set for "X is set but…"). */
  isSet (name: string): boolean { return this.raw(name) !== undefined }

  /** A declared setting, parsed by its kind, or its default. */
  value<N extends SettingName> (name: N): SettingValue<N> {
    const setting: { kind: Kind, default?: string } = SETTINGS[name]
    const fallback = setting.default
    const kind = setting.kind
    let result: unknown
    switch (kind.type) {
      case 'string': result = this.get(name) ?? fallback; break
      case 'secret': result = this.raw(name); break
      case 'port': result = this.port(name, Number(fallback)); break
      case 'boolean': result = this.boolean(name, fallback === 'true'); break
      case 'duration': result = this.durationMs(name, parseDuration(fallback ?? ''), kind.zero === true); break
      case 'integer': result = this.integer(name, Number(fallback), kind.min, kind.max); break
      case 'list': result = this.list(name); break
      case 'enum': result = this.oneOf(name, kind.values, fallback ?? ''); break
    }
    return result as SettingValue<N>
  }

  /** A secret setting: NAME_FILE (which wins) or NAME's raw value; undefined when neither is set. */
  secret (name: SettingName): SecretSource | undefined {
    const variable = fileVariant(name)
    const file = variable === undefined ? undefined : this.get(variable)
    if (file !== undefined && variable !== undefined) return { file, variable }
    const value = this.raw(name)
    return value === undefined ? undefined : { value }
  }

  /** Reports each of `names` (and their _FILE variants) that is set although `anchor` is not. */
  onlyWith (names: readonly SettingName[], anchor: string, why = ''): void {
    for (const name of names.flatMap((n) => [n, fileVariant(n)])) {
      if (name !== undefined && name !== anchor && this.isSet(name)) this.problem(name, `is set but ${anchor} is not${why}`)
    }
  }

  port (name: string, fallback: number): number {
    const value = this.get(name)
    if (value === undefined) return fallback
    const port = Number(value)
    if (!/^\d{1,5}$/.test(value) || port > 65535) {
      this.problem(name, `must be a TCP port number 0-65535, got "${value}"`)
      return fallback
    }
    return port
  }

  boolean (name: string, fallback: boolean): boolean {
    const value = this.get(name)
    if (value === undefined) return fallback
    const lower = value.toLowerCase()
    if (lower === 'true' || lower === '1' || lower === 'yes') return true
    if (lower === 'false' || lower === '0' || lower === 'no') return false
    this.problem(name, `must be true or false, got "${value}"`)
    return fallback
  }

  /** "250ms", "5s", "2m", "1h"; a bare number is seconds (as in nginx). `allowZero` admits "0" (off). */
  durationMs (name: string, fallback: number, allowZero = false): number {
    const value = this.get(name)
    if (value === undefined) return fallback
    const ms = parseDuration(value)
    if (!Number.isSafeInteger(ms) || ms < (allowZero ? 0 : 1) || ms > 2_147_483_647) {
      this.problem(name, `must be a ${allowZero ? 'duration (0 for none)' : 'positive duration'} such as 500ms, 30s or 2m, got "${value}"`)
      return fallback
    }
    return ms
  }

  integer (name: string, fallback: number, min: number, max: number): number {
    const value = this.get(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) {
      this.problem(name, `must be a whole number from ${min} to ${max}, got "${value}"`)
      return fallback
    }
    return n
  }

  /**
   * An absolute URL in one of `protocols`, without credentials or a fragment, or undefined (a problem is reported).
   * `plainOnlyOnLoopback`: http:// only to a loopback host (an OpenID provider: tokens must not cross the network
   * in clear).
   */
  url (name: string, value: string, protocols: readonly string[], options: { plainOnlyOnLoopback?: (host: string) => boolean } = {}): URL | undefined {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      this.problem(name, `must be an absolute URL such as ${protocols[0] ?? 'https:'}//host, got "${value}"`)
      return undefined
    }
    const loopbackOnly = options.plainOnlyOnLoopback
    if (!protocols.includes(url.protocol) || (loopbackOnly !== undefined && url.protocol === 'http:' && !loopbackOnly(url.hostname))) {
      this.problem(name, loopbackOnly !== undefined
        ? `must use https:// (http:// only on loopback), got "${value}"`
        : `must use ${protocols.map((p) => `${p}//`).join(' or ')}, got "${url.protocol}"`)
      return undefined
    }
    if (url.username !== '' || url.password !== '' || url.hash !== '') {
      this.problem(name, 'must not contain credentials or a fragment')
      return undefined
    }
    return url
  }

  /** Comma-separated, blanks dropped. */
  list (name: string): string[] {
    return (this.get(name) ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '')
  }

  oneOf (name: string, allowed: readonly string[], fallback: string): string {
    const value = this.get(name)
    if (value === undefined) return fallback
    if (!allowed.includes(value)) this.problem(name, `must be one of ${allowed.join(', ')}, got "${value}"`)
    return value
  }
}

