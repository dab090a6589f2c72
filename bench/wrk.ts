// Runs wrk (Debian's package) against one URL and reads its summary: requests/s and latency percentiles.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { onCpu } from './systems.ts'

const run = promisify(execFile)

export interface WrkResult {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
}

/** "1.23ms" / "850.00us" / "1.20s" → milliseconds */
function toMs (value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim())
  if (m === null) return Number.NaN
  const n = Number(m[1])
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000
}

export function parseWrk (out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN)
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0)
  return { rps, p50Ms: toMs(p50), p99Ms: toMs(p99), non2xx, errors }
}

export async function wrk (url: string, authorization: string, connections: number, seconds: number): Promise<WrkResult> {
  // --timeout 10s: nginx with bcrypt answers ~16 requests a second; with wrk's default 2 s they would all time out.
  const { stdout } = await run(...onCpu('driver', 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', '-H', `Authorization: ${authorization}`, url]),
    { maxBuffer: 1024 * 1024, timeout: (seconds + 30) * 1000 })
  return parseWrk(stdout)
}
