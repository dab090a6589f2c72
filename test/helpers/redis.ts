// A real redis-server (Debian's package) on a free loopback port, without persistence, stoppable and restartable on
// the same port (a Redis outage and its recovery), optionally requiring a password.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
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
