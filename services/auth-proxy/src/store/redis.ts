// The Redis (or Valkey) every replica shares (REDIS_URL): one connection for commands, one for the revocation
// channel. It never holds up a request for long nor stops the start: each command has REDIS_TIMEOUT, commands are
// refused at once while disconnected (no offline queue to replay stale counts), and the connection is retried in
// the background. Whoever uses it falls back to its own per-process state while it is down (throttle.ts,
// revocations.ts), and /readyz and metrics say so. Loaded only when REDIS_URL is set.
import { readFile } from 'node:fs/promises'
import { createClient } from '@redis/client'
import type { SharedConfig } from '../config/shared.ts'
import { CredentialsLoadError } from '../errors.ts'
import type { OperatorLog } from '../log.ts'
import { BackendHealth, type HealthStatus } from '../util/health.ts'
import { cannotRead } from '../util/files.ts'
import { readPasswordFile } from '../util/secret-file.ts'

/** What is used of @redis/client's client (its generic types do not survive duplicate() under exactOptionalPropertyTypes). */
interface Client {
  readonly isReady: boolean
  on (event: 'ready' | 'end', listener: () => void): unknown
  on (event: 'error', listener: (err: Error) => void): unknown
  connect (): Promise<unknown>
  sendCommand (args: readonly string[], options?: { timeout?: number }): Promise<unknown>
  subscribe (channel: string, listener: (message: string) => void): Promise<void>
  duplicate (): Client
  destroy (): void
}
/** One RESP reply, as far as the callers need it. */
export type Reply = string | number | null | Reply[]

/** After a command timed out, Redis is skipped this long before it is tried again. */
const SLOW_PAUSE_MS = 2_000

/** Reconnect after 100 ms, doubling to 2 s: an outage is noticed and recovered from within seconds. */
function backoff (retries: number): number { return Math.min(100 * 2 ** retries, 2_000) }

export class RedisStore {
  readonly name = 'redis'
  readonly prefix: string
  readonly #client: Client
  readonly #subscriber: Client
  readonly #timeoutMs: number
  readonly #health: BackendHealth
  readonly #onReady: Array<() => void> = []
  #slowUntil = 0
  errors = 0

  private constructor (client: Client, subscriber: Client, config: SharedConfig, log: OperatorLog | undefined) {
    this.#client = client
    this.#subscriber = subscriber
    this.prefix = config.prefix
    this.#timeoutMs = config.timeoutMs
    const where = new URL(config.url)
    this.#health = new BackendHealth('Redis', () => `${where.protocol}//${where.host}`, log) // never the password
    client.on('ready', () => { this.#health.markUp(); for (const f of this.#onReady) f() })
    for (const c of [client, subscriber]) {
      // An 'error' listener is mandatory: without one a lost connection would crash the process.
      c.on('error', (err: Error) => { this.errors++; this.#health.markDown(reason(err)) })
    }
    client.on('end', () => { this.#health.markDown('connection closed') })
  }

  /** Connects in the background; a Redis that is down at start is retried, never a reason not to start. */
  static async create (config: SharedConfig, log?: OperatorLog): Promise<RedisStore> {
    const password = config.password === undefined ? undefined : 'file' in config.password ? await readPasswordFile(config.password.file, config.password.variable) : config.password.value
    let ca: string | undefined
    if (config.caFile !== undefined) {
      try { ca = await readFile(config.caFile, 'utf8') } catch (err) { throw new CredentialsLoadError(cannotRead('REDIS_CA_FILE', config.caFile, err), { cause: err }) }
    }
    const url = new URL(config.url)
    const client = createClient({
      url: config.url,
      ...(password !== undefined && { password }),
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(config.timeoutMs * 3, 1_000),
        reconnectStrategy: backoff,
        ...(url.protocol === 'rediss:' && { tls: true as const, servername: url.hostname, ...(ca !== undefined && { ca }) })
      }
    }) as unknown as Client
    const store = new RedisStore(client, client.duplicate(), config, log)
    store.#client.connect().catch(() => { /* 'error' marked it down; reconnectStrategy retries */ })
    store.#subscriber.connect().catch(() => { /* likewise */ })
    return store
  }

  get up (): boolean { return this.#health.up && this.#client.isReady && Date.now() >= this.#slowUntil }

  /** Runs `f` whenever the connection is (re)established: resynchronise what was missed while it was down. */
  onReady (f: () => void): void { this.#onReady.push(f) }

  key (...parts: string[]): string { return `${this.prefix}${parts.join(':')}` }

  /**
   * One command, within REDIS_TIMEOUT; rejects at once while disconnected or, after a command timed out, for
   * SLOW_PAUSE_MS. The deadline is our own: @redis/client's `timeout` only covers the wait to be written, not the
   * reply, so a Redis that takes the command and stalls (SIGSTOP, a long script, a partition without a reset)
   * would hold every login with it.
   */
  async command (args: readonly string[]): Promise<Reply> {
    if (Date.now() < this.#slowUntil) { this.errors++; throw new Error('Redis timed out recently: deciding alone for now') }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`Redis did not answer within ${this.#timeoutMs} ms`)) }, this.#timeoutMs)
    })
    try {
      // A late reply is matched to its command by the client (replies come in order) and dropped here.
      return await Promise.race([this.#client.sendCommand(args, { timeout: this.#timeoutMs }) as Promise<Reply>, deadline])
    } catch (err) {
      this.errors++
      if (/did not answer within/.test((err as Error).message)) this.#markSlow()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  /** A command timed out: skip Redis for a moment (calls fail at once, each replica decides alone), then try again. */
  #markSlow (): void {
    this.#slowUntil = Date.now() + SLOW_PAUSE_MS
    this.#health.markDown(`no answer within ${this.#timeoutMs} ms`)
    setTimeout(() => { if (this.#client.isReady) this.#health.markUp() }, SLOW_PAUSE_MS).unref()
  }

  /** A Lua script (atomic on the server), by EVAL: scripts here are small and run on logins only. */
  async script (lua: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<Reply> {
    return await this.command(['EVAL', lua, String(keys.length), ...keys, ...args.map(String)])
  }

  async publish (channel: string, message: string): Promise<void> {
    await this.command(['PUBLISH', this.key(channel), message])
  }

  /**
   * Messages on `channel`. Subscribed as soon as the subscriber connection is up — now, or when Redis first answers
   * if it is down at start; after that the client re-subscribes by itself on every reconnect.
   */
  async subscribe (channel: string, listener: (message: string) => void): Promise<void> {
    let subscribed = false
    const attempt = async (): Promise<void> => {
      if (subscribed) return
      try {
        await this.#subscriber.subscribe(this.key(channel), listener)
        subscribed = true
      } catch { /* not connected yet: retried on 'ready' */ }
    }
    this.#subscriber.on('ready', () => { void attempt() })
    await attempt()
  }

  /** Every key matching `pattern` (SCAN, never KEYS: it does not block the server). */
  async scan (pattern: string): Promise<string[]> {
    const keys: string[] = []
    let cursor = '0'
    do {
      const reply = await this.command(['SCAN', cursor, 'MATCH', this.key(pattern), 'COUNT', '500']) as [string, string[]]
      cursor = reply[0]
      keys.push(...reply[1])
    } while (cursor !== '0')
    return keys
  }

  ready (): boolean { return this.up }
  status (): HealthStatus & { errors: number } { return { ...this.#health.status(), ready: this.up, errors: this.errors } }

  async close (): Promise<void> {
    for (const c of [this.#client, this.#subscriber]) {
      try { c.destroy() } catch { /* already closed */ }
    }
    await Promise.resolve()
  }
}

/** A short reason, never a secret: the error's code or message, without the URL. */
function reason (err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  return code ?? err.message.replace(/rediss?:\/\/\S+/g, 'redis://…').slice(0, 200)
}
