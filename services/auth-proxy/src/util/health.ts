import type { OperatorLog } from '../log.ts'
// Whether a network backend (an LDAP directory; later an OpenID provider) can answer now, for /readyz, metrics
// and the logs. Transitions are logged once each, not on every failed request.

export interface HealthStatus {
  readonly ready: boolean
  /** The server in use or last tried. */
  readonly server: string
  /** Why it is not ready (a short reason, never a secret). */
  readonly lastError?: string
  /** When the current state began. */
  readonly since: string
}

export class BackendHealth {
  #up = false
  #lastError: string | undefined
  #since = new Date()
  readonly #what: string
  readonly #server: () => string
  readonly #log: OperatorLog | undefined

  /** `what` names the backend's remote side in log messages, e.g. "LDAP directory". */
  constructor (what: string, server: () => string, log: OperatorLog | undefined) {
    this.#what = what
    this.#server = server
    this.#log = log
  }

  get up (): boolean { return this.#up }

  markUp (): void {
    if (this.#up) return
    this.#up = true
    this.#since = new Date()
    if (this.#lastError !== undefined) this.#log?.info({ server: this.#server() }, `${this.#what} reachable again`)
    this.#lastError = undefined
  }

  markDown (reason: string): void {
    if (this.#up || this.#lastError !== reason) {
      this.#log?.error({ server: this.#server(), reason }, `${this.#what} unavailable`)
      if (this.#up) this.#since = new Date()
    }
    this.#up = false
    this.#lastError = reason
  }

  status (): HealthStatus {
    return {
      ready: this.#up,
      server: this.#server(),
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
      since: this.#since.toISOString()
    }
  }
}

/** Runs `check` once now and then every `intervalMs` (never keeping the process alive); returns how to stop. */
export async function checkNowAndEvery (check: () => Promise<unknown>, intervalMs: number): Promise<() => void> {
  await check()
  const timer = setInterval(() => { void check() }, intervalMs).unref()
  return () => { clearInterval(timer) }
}
