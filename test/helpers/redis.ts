// A real redis-server (Debian's package) on a free loopback port, without persistence, stoppable and restartable on
// the same port (a Redis outage and its recovery), optionally requiring a password.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { freePort } from './upstream.ts'

export interface RedisServer {
  readonly port: number
  readonly url: string
  stop (): Promise<void>
  start (): Promise<void>
  /** One command over a fresh connection (RESP), for the tests' own look at the keys. */
  command (...args: string[]): Promise<string>
}

async function answering (port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => { resolve(false) })
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} never answered`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function startRedis (options: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
    ...(options.password !== undefined ? ['--requirepass', options.password] : [])]
  const start = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: 'ignore' })
    await answering(port)
  }
  const stop = async (): Promise<void> => {
    const c = child
    if (c === undefined || c.exitCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async command (...cmd) {
      const auth = options.password !== undefined ? ['AUTH', options.password] : undefined
      const encode = (a: string[]): string => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`
      return await new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => { s.write((auth !== undefined ? encode(auth) : '') + encode(cmd)) })
        let text = ''
        s.on('data', (c: Buffer) => {
          text += c.toString()
          const replies = text.split('\r\n').filter((l) => l !== '')
          if (replies.length >= (auth !== undefined ? 2 : 1)) { s.end(); resolve(text) }
        })
        s.on('error', reject)
      })
    }
  }
}

export interface SlowRelay {
  readonly url: string
  /** Each reply from Redis is held this long before it is passed on (in order). */
  delayMs: number
  close (): Promise<void>
}

/** A TCP relay in front of a Redis that holds its replies: a Redis that takes commands and answers late (stalled). */
export async function slowRelay (target: RedisServer): Promise<SlowRelay> {
  const sockets = new Set<Socket>()
  const relay: SlowRelay = { url: '', delayMs: 0, close: async () => { for (const s of sockets) s.destroy(); await new Promise((resolve) => server.close(resolve)) } }
  const server = createServer((client) => {
    const upstream = connect(target.port, '127.0.0.1')
    sockets.add(client).add(upstream)
    let chain = Promise.resolve()
    client.on('data', (d: Buffer) => { upstream.write(d) })
    upstream.on('data', (d: Buffer) => {
      const wait = relay.delayMs
      chain = chain.then(async () => { await new Promise((resolve) => setTimeout(resolve, wait)); if (!client.destroyed) client.write(d) })
    })
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => { b.destroy() })
      a.on('close', () => { b.destroy(); sockets.delete(a) })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(relay, { url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}` })
}

/** Waits until `check` holds (polled every 20 ms); its time in ms, or throws naming `what` after `timeoutMs`. */
export async function eventually (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 8_000): Promise<number> {
  const started = Date.now()
  while (!await check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`never: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return Date.now() - started
}
