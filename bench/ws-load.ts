// The load driver of bench/websocket.ts, its own process on the driver CPU (as wrk is for run.ts): opens
// `connections` WebSockets and keeps `window` binary messages of `size` bytes in flight on each — every echo
// received is answered with the next message — for a warm-up, then `seconds` measured. Prints one JSON line
// (LoadResult). A fresh process per measurement, so no run inherits another's garbage or half-closed sockets.
//   node bench/ws-load.ts --url ws://… --authorization 'Basic …' --connections 8 --window 16 --size 64 --seconds 3
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { WebSocket, type RawData } from 'ws'

export interface LoadResult {
  /** Echoes received within the measured window. */
  readonly messages: number
  /** The measured window's actual length (the timer may fire late on a busy CPU). */
  readonly seconds: number
  /** Echoes that were not binary, had the wrong length, or (of the compared ones) the wrong bytes. */
  readonly mismatches: number
  /** Connections that closed or failed before the driver ended them. */
  readonly dropped: number
}

/** Unmeasured: lets this fresh process (and the proxy's tunnel code) leave the interpreter before counting. */
const WARMUP_MS = 500
/**
 * Every echo's length is checked, the bytes of one in this many: comparing each 64 KiB echo would cost the driver
 * CPU (shared with the upstream) a few percent of the ceiling; this still catches a tunnel that corrupts frames.
 */
const COMPARE_EVERY = 64

interface Counter { measuring: boolean, stopped: boolean, received: number, messages: number, mismatches: number, dropped: number }

async function open (url: string, authorization: string | undefined): Promise<WebSocket> {
  // The credentials go on the upgrade request: both proxies authenticate the handshake, and only it.
  const ws = new WebSocket(url, { headers: authorization === undefined ? {} : { authorization }, perMessageDeflate: false })
  await once(ws, 'open') // rejects on 'error', e.g. "Unexpected server response: 401"
  return ws
}

function echoed (data: RawData, binary: boolean, payload: Buffer, n: number): boolean {
  if (!binary || !Buffer.isBuffer(data) || data.length !== payload.length) return false
  return n % COMPARE_EVERY !== 0 || data.equals(payload)
}

/** Ping-pong on one connection: `window` messages out at once, then one more for every echo back. */
function drive (ws: WebSocket, payload: Buffer, window: number, c: Counter): void {
  ws.on('message', (data, binary) => {
    if (!echoed(data, binary, payload, c.received++)) c.mismatches++
    if (c.measuring) c.messages++
    if (!c.stopped) ws.send(payload)
  })
  const lost = (): void => { if (!c.stopped) c.dropped++ }
  ws.once('close', lost)
  ws.on('error', () => { /* 'close' follows and counts it */ })
  for (let i = 0; i < window; i++) ws.send(payload)
}

async function close (ws: WebSocket): Promise<void> {
  const closed = once(ws, 'close')
  ws.close(1000)
  // Unref'd: a pending 2 s timer would otherwise keep this process (and the measurement after it) waiting.
  await Promise.race([closed, sleep(2000, undefined, { ref: false })])
  ws.terminate()
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' }, authorization: { type: 'string' },
      connections: { type: 'string', default: '8' }, window: { type: 'string', default: '16' },
      size: { type: 'string', default: '64' }, seconds: { type: 'string', default: '3' }
    }
  })
  if (values.url === undefined) throw new Error('--url is required')
  const url = values.url
  // Not all one byte value, so a compare can tell a shifted or mixed-up payload from the right one.
  const payload = Buffer.alloc(Number(values.size))
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff
  const sockets = await Promise.all(Array.from({ length: Number(values.connections) }, async () => open(url, values.authorization)))
  const c: Counter = { measuring: false, stopped: false, received: 0, messages: 0, mismatches: 0, dropped: 0 }
  for (const ws of sockets) drive(ws, payload, Number(values.window), c)
  await sleep(WARMUP_MS)
  c.measuring = true
  const started = performance.now()
  await sleep(Number(values.seconds) * 1000)
  c.measuring = false
  const seconds = (performance.now() - started) / 1000
  c.stopped = true
  await Promise.all(sockets.map(close))
  const result: LoadResult = { messages: c.messages, seconds, mismatches: c.mismatches, dropped: c.dropped }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`ws-load: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
