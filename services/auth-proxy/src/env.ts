// Reading environment variables with validation that collects problems instead of stopping at the first,
// so an operator sees every mistake in one start-up message. Generic: config.ts holds the schema.

const DURATION_RE = /^(\d+)(ms|s|m|h)?$/
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export type Env = Readonly<Record<string, string | undefined>>

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
    const match = DURATION_RE.exec(value)
    const ms = match ? Number(match[1]) * (DURATION_UNIT_MS[match[2] ?? 's'] ?? 1000) : Number.NaN
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

