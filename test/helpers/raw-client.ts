// A client that writes exact bytes on a socket and reads back everything the proxy says, for the hostile-HTTP
// suite: no library normalises, completes or refuses what the test sends.
import { connect } from 'node:net'

export interface Exchange {
  /** Everything received, as Latin-1 (one character per byte). */
  readonly text: string
  /** The status code of each response seen, in order. */
  readonly statuses: number[]
  /** The proxy closed the connection (rather than the wait ending). */
  readonly closed: boolean
  /** Milliseconds from the first write until the proxy closed (or the wait ended). */
  readonly elapsedMs: number
}

export interface ExchangeOptions {
  /** Pause between the pieces of `data`. */
  readonly gapMs?: number
  /** How long to wait for more after the last byte arrived (or was sent) before giving up. */
  readonly idleMs?: number
  /** Stop once this many responses were seen. */
  readonly responses?: number
  /** Give up after this long in all. */
  readonly timeoutMs?: number
}

/**
 * The status of each response in a byte stream, read as a client would (RFC 9112 §6.3): a body framed by
 * Content-Length or chunked, none for 1xx/204/304, everything after a 101 belongs to the new protocol.
 */
export function statusesOf (text: string): number[] {
  const statuses: number[] = []
  let at = 0
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at)
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text.slice(at, at + 16))
    if (end === -1 || match === null) break
    const status = Number(match[1])
    statuses.push(status)
    const head = text.slice(at, end).toLowerCase()
    at = end + 4
    if (status === 101) break
    if (status < 200 || status === 204 || status === 304) continue
    const length = /\r\ncontent-length: *(\d+)/.exec(head)
    if (length !== null) { at += Number(length[1]); continue }
    if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      for (;;) {
        const line = text.indexOf('\r\n', at)
        if (line === -1) return statuses
        const size = parseInt(text.slice(at, line), 16)
        at = line + 2 + (size > 0 ? size + 2 : 0)
        if (!(size > 0)) { at = text.indexOf('\r\n', at) + 2; break }
      }
      continue
    }
    break // delimited by the connection's close
  }
  return statuses
}

/** Sends `data` (pieces separated by gapMs) to 127.0.0.1:port and collects the answer. */
export async function exchange (port: number, data: string | Buffer | ReadonlyArray<string | Buffer>, options: ExchangeOptions = {}): Promise<Exchange> {
  const pieces = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data
  const idleMs = options.idleMs ?? 400
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    const started = Date.now()
    let closed = false
    let finished = false
    let idle: NodeJS.Timeout | undefined
    const finish = (): void => {
      if (finished) return
      finished = true
      clearTimeout(idle)
      clearTimeout(overall)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      resolve({ text, statuses: statusesOf(text), closed, elapsedMs: Date.now() - started })
    }
    const overall = setTimeout(finish, options.timeoutMs ?? 15_000)
    const armIdle = (): void => { clearTimeout(idle); idle = setTimeout(finish, idleMs) }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (options.responses !== undefined && statusesOf(Buffer.concat(chunks).toString('latin1')).length >= options.responses) { finish(); return }
      armIdle()
    })
    socket.on('end', () => { closed = true; finish() })
    socket.on('close', () => { closed = true; finish() })
    socket.on('error', () => { closed = true; finish() })
    socket.on('connect', () => {
      void (async () => {
        for (const [i, piece] of pieces.entries()) {
          if (finished) return
          if (i > 0 && options.gapMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.gapMs))
          if (!socket.destroyed) socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece)
        }
        armIdle()
      })()
    })
  })
}

/** An open socket for tests that interleave writes with checks. */
export async function openRaw (port: number): Promise<{ write: (data: string | Buffer) => void, received: () => string, closed: () => boolean, close: () => void }> {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  let isClosed = false
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('close', () => { isClosed = true })
  socket.on('error', () => { isClosed = true })
  await new Promise((resolve) => socket.once('connect', resolve))
  return {
    write: (data) => { if (!socket.destroyed) socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data) },
    received: () => Buffer.concat(chunks).toString('latin1'),
    closed: () => isClosed,
    close: () => { socket.destroy() }
  }
}

export function basicToken (user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64')
}
