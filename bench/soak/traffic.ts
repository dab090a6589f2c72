// The soak run's clients: each kind of traffic a user of the sidecar makes, in loops, every answer recorded with
// its time so that the report can tell the failures a fault explains from those nothing explains.
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { WebSocket } from 'ws'
import { CookieJar, oidcLogin } from '../../test/helpers/browserless.ts'

/** One answer (or failure) as a client saw it. */
export interface Outcome {
  readonly kind: string
  /** When it ended, ms since the run started. */
  readonly at: number
  readonly ms: number
  /** The status code, or what went wrong (an error code, "closed-1001", …). */
  readonly result: string
  readonly ok: boolean
}

export class Recorder {
  readonly outcomes: Outcome[] = []
  readonly started = Date.now()
  running = true

  now (): number { return Date.now() - this.started }

  record (kind: string, startedAt: number, result: string, ok: boolean): void {
    const at = this.now()
    this.outcomes.push({ kind, at, ms: at - startedAt, result, ok })
  }

  /** Runs `fn` until the run ends; a throw is recorded as that kind's failure and the loop goes on. */
  async loop (kind: string, pauseMs: number, fn: () => Promise<void>): Promise<void> {
    while (this.running) {
      const startedAt = this.now()
      try { await fn() } catch (err) { this.record(kind, startedAt, errorName(err), false) }
      await sleep(pauseMs)
    }
  }
}

function errorName (err: unknown): string {
  const e = err as { code?: string, cause?: { code?: string }, message?: string }
  return e.code ?? e.cause?.code ?? e.message?.slice(0, 40) ?? 'error'
}

const agent = new Agent({ connections: 64, headersTimeout: 90_000, bodyTimeout: 90_000 })
export async function closeClients (): Promise<void> { await agent.close() }

export function basic (user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

/** One request; records it as `kind` (2xx is ok unless `okStatus` says otherwise). */
export async function hit (rec: Recorder, kind: string, url: string, options: { method?: string, headers?: Record<string, string>, body?: Buffer, okStatus?: number } = {}): Promise<number> {
  const startedAt = rec.now()
  const res = await request(url, { dispatcher: agent, method: (options.method ?? 'GET') as 'GET', headers: options.headers ?? {}, body: options.body ?? null })
  await res.body.dump({ limit: Number.MAX_SAFE_INTEGER }) // read it all: a download is only complete once its bytes are
  rec.record(kind, startedAt, String(res.statusCode), res.statusCode === (options.okStatus ?? 200))
  return res.statusCode
}

/** A WebSocket session: open, `messages` echoes, close. */
export async function wsSession (rec: Recorder, url: string, authorization: string, messages: number): Promise<void> {
  const startedAt = rec.now()
  const ws = new WebSocket(url, { headers: { authorization } })
  const result = await new Promise<string>((resolve) => {
    let echoed = 0
    ws.once('unexpected-response', (_req, res) => { resolve(String(res.statusCode)); ws.terminate() })
    ws.once('error', (err) => { resolve(errorName(err)) })
    ws.once('close', (code) => { resolve(echoed === messages ? 'ok' : `closed-${code}`) })
    ws.once('open', () => { ws.send('0') })
    ws.on('message', () => {
      echoed++
      if (echoed === messages) ws.close(1000)
      else setTimeout(() => { ws.send(String(echoed)) }, 50)
    })
  })
  rec.record('websocket', startedAt, result, result === 'ok')
}

/** A slowloris client: one header line every `gapMs`; the proxy must answer 408 and close. */
export async function slowHeaders (rec: Recorder, port: number, gapMs: number): Promise<void> {
  const startedAt = rec.now()
  const result = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let received = ''
    let n = 0
    const timer = setInterval(() => { socket.write(`X-Slow-${n++}: x\r\n`) }, gapMs)
    socket.on('connect', () => { socket.write('GET / HTTP/1.1\r\nHost: soak\r\n') })
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
    const done = (): void => { clearInterval(timer); resolve(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 'closed-silently') }
    socket.on('close', done)
    socket.on('error', () => { socket.destroy() })
  })
  rec.record('slow-client', startedAt, result, result === '408')
}

/** A browser's OpenID Connect session: log in through the provider, then requests with the session cookie. */
export class OidcUser {
  readonly #jar = new CookieJar()
  #loggedIn = false
  readonly front: string
  readonly user: string
  readonly password: string

  constructor (front: string, user: string, password: string) {
    this.front = front
    this.user = user
    this.password = password
  }

  async request (rec: Recorder): Promise<void> {
    if (!this.#loggedIn) {
      const startedAt = rec.now()
      const { res } = await oidcLogin(this.#jar, `${this.front}/`, this.user, this.password)
      this.#loggedIn = res.status === 200
      rec.record('oidc-login', startedAt, String(res.status), this.#loggedIn)
      return
    }
    const cookie = this.#jar.header(`${this.front}/`) ?? ''
    const startedAt = rec.now()
    const res = await request(`${this.front}/`, { dispatcher: agent, headers: { cookie, accept: 'application/json' } })
    await res.body.text()
    const setCookie = res.headers['set-cookie']
    this.#jar.store(`${this.front}/`, typeof setCookie === 'string' || Array.isArray(setCookie) ? setCookie : undefined)
    rec.record('oidc', startedAt, String(res.statusCode), res.statusCode === 200)
    if (res.statusCode === 401) this.#loggedIn = false // the session ended (its refresh was refused): log in again
  }
}
