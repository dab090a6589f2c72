// Brute-force defence: a client (its address; behind a trusted router, the address the router reports) that
// fails authentication `limit` times within `windowMs` is refused with 429 until that window ends. Other
// clients are never affected, and a success clears the client's count. Memory is bounded: at most
// `maxClients` addresses are tracked, the least recently seen dropped first, so a flood of distinct
// addresses cannot grow the table (it can only make the proxy forget, never refuse the innocent).

export interface ThrottleOptions {
  readonly limit: number
  readonly windowMs: number
  readonly maxClients: number
  readonly now?: () => number
}

interface Window { count: number, readonly resetAt: number }

export class FailureThrottle {
  readonly #clients = new Map<string, Window>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #maxClients: number
  readonly #now: () => number

  constructor (options: ThrottleOptions) {
    this.#limit = options.limit
    this.#windowMs = options.windowMs
    this.#maxClients = options.maxClients
    this.#now = options.now ?? Date.now
  }

  get trackedClients (): number { return this.#clients.size }

  /** Seconds until the client may try again, or 0 when it is not blocked. */
  retryAfter (client: string): number {
    if (this.#limit === 0) return 0
    const w = this.#clients.get(client)
    if (w === undefined) return 0
    const left = w.resetAt - this.#now()
    if (left <= 0) { this.#clients.delete(client); return 0 }
    return w.count >= this.#limit ? Math.ceil(left / 1000) : 0
  }

  failure (client: string): void {
    if (this.#limit === 0) return
    const now = this.#now()
    let w = this.#clients.get(client)
    if (w === undefined || w.resetAt <= now) w = { count: 0, resetAt: now + this.#windowMs }
    w.count++
    this.#clients.delete(client) // most recently seen last
    this.#clients.set(client, w)
    while (this.#clients.size > this.#maxClients) {
      const oldest = this.#clients.keys().next().value
      if (oldest === undefined) break
      this.#clients.delete(oldest)
    }
  }

  success (client: string): void {
    this.#clients.delete(client)
  }
}
