// The WebSocket tunnel: message rate with small messages, byte rate with large ones, through the auth-proxy,
// through nginx as the usual WebSocket reverse proxy (same htpasswd file, so the handshake is authenticated alike),
// and to the echo upstream directly. Authentication happens once per connection, at the handshake: what is measured
// is the relaying of frames after it. The echo upstream (ws-echo.ts) and the load driver (ws-load.ts) share the
// driver CPU, as the app and wrk do in run.ts, so "upstream direct" is the ceiling for both proxies.
//   node bench/websocket.ts [--smoke] [--duration 3] [--rounds 3]
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { median, type Target } from './report.ts'
import {
  AUTH_PROXY_ENTRY, killAll, onCpu, ROOT, running, startAuthProxy, startNginx, startProcess, waitFor, type Running
} from './systems.ts'
import type { LoadResult } from './ws-load.ts'
import { freePort } from '../test/helpers/upstream.ts'

const run = promisify(execFile)

/** Message sizes: 64 B is bound by per-message work (the message rate), 64 KiB by copying (the byte rate). */
const SIZES = { small: 64, large: 64 * 1024 } as const
type Size = keyof typeof SIZES
const SIZE_KEYS: readonly Size[] = ['small', 'large']

export type WsSystemId = 'upstream' | 'nginx' | 'auth-proxy'
const LABELS: Readonly<Record<WsSystemId, string>> = {
  upstream: 'upstream direct (ceiling)', nginx: 'nginx (Upgrade/Connection headers, auth_basic)', 'auth-proxy': 'auth-proxy'
}

/**
 * `mbPerS`: payload bytes echoed back to the driver per second, one way, in 10^6 bytes. Each payload crosses the
 * proxy twice (there and back), so a proxy relays twice this.
 */
export interface WsRate { readonly msgsPerS: number, readonly mbPerS: number }
export type WsSystemResult = Readonly<Record<Size, WsRate>>
export type WsResults = Readonly<Record<WsSystemId, WsSystemResult>>

export interface WsBenchOptions {
  readonly work: string
  readonly htpasswdFile: string
  readonly authorization: string
  readonly seconds: number
  readonly rounds: number
  /** WebSocket connections (8) and messages in flight on each (16): enough to keep a one-CPU proxy busy. */
  readonly connections?: number
  readonly window?: number
  readonly log?: (msg: string) => void
}

async function startEcho (): Promise<Running> {
  const port = await freePort()
  const child = startProcess('driver', process.execPath, [join(ROOT, 'bench/ws-echo.ts')], { PORT: String(port) })
  const url = `http://127.0.0.1:${port}/`
  await waitFor(url, undefined)
  return running(url, child)
}

/** One measurement: a fresh ws-load.ts on the driver CPU. Throws if an echo was wrong or a tunnel broke. */
async function load (target: string, size: Size, seconds: number, opts: WsBenchOptions): Promise<WsRate> {
  const url = target.replace(/^http/, 'ws')
  const args = [join(ROOT, 'bench/ws-load.ts'), '--url', url, '--authorization', opts.authorization,
    '--connections', String(opts.connections ?? 8), '--window', String(opts.window ?? 16),
    '--size', String(SIZES[size]), '--seconds', String(seconds)]
  const { stdout } = await run(...onCpu('driver', process.execPath, args), { timeout: (seconds + 30) * 1000 })
  const r = JSON.parse(stdout) as LoadResult
  if (r.mismatches > 0 || r.dropped > 0) throw new Error(`${url} (${size}): ${r.mismatches} wrong echoes, ${r.dropped} connections lost`)
  return { msgsPerS: r.messages / r.seconds, mbPerS: (r.messages * SIZES[size]) / r.seconds / 1e6 }
}

async function measure (systems: ReadonlyArray<readonly [WsSystemId, Running]>, opts: WsBenchOptions): Promise<WsResults> {
  const log = opts.log ?? ((): void => { /* quiet */ })
  // Warm-up, not recorded: the auth-proxy's tunnel code starts in the interpreter, as in run.ts.
  for (const [, r] of systems) for (const size of SIZE_KEYS) await load(r.url, size, Math.min(opts.seconds, 2), opts)
  const samples = new Map<string, WsRate[]>()
  for (let round = 1; round <= opts.rounds; round++) {
    // Rotate the order each round so no system always runs first (or after the noisiest one).
    const k = round % systems.length
    for (const [id, r] of [...systems.slice(k), ...systems.slice(0, k)]) {
      for (const size of SIZE_KEYS) {
        const rate = await load(r.url, size, opts.seconds, opts)
        samples.set(`${id}@${size}`, [...(samples.get(`${id}@${size}`) ?? []), rate])
        log(`round ${round} ws ${id} ${SIZES[size]} B: ${Math.round(rate.msgsPerS)} msg/s, ${rate.mbPerS.toFixed(1)} MB/s`)
      }
    }
  }
  const med = (id: WsSystemId, size: Size): WsRate => {
    const list = samples.get(`${id}@${size}`) ?? []
    return { msgsPerS: median(list.map((r) => r.msgsPerS)), mbPerS: median(list.map((r) => r.mbPerS)) }
  }
  const of = (id: WsSystemId): WsSystemResult => ({ small: med(id, 'small'), large: med(id, 'large') })
  return { upstream: of('upstream'), nginx: of('nginx'), 'auth-proxy': of('auth-proxy') }
}

/** Starts the echo upstream and both proxies, runs interleaved rounds, stops everything; medians per system. */
export async function benchWebSockets (opts: WsBenchOptions): Promise<WsResults> {
  const echo = await startEcho()
  const systems: Array<[WsSystemId, Running]> = [['upstream', echo]]
  try {
    systems.push(['nginx', await startNginx(opts.work, echo.url, opts.htpasswdFile, opts.authorization, { websocket: true })])
    systems.push(['auth-proxy', await startAuthProxy(echo.url, opts.htpasswdFile, opts.authorization)])
    return await measure(systems, opts)
  } finally {
    for (const [, r] of systems.reverse()) await r.stop()
  }
}

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'

/** A markdown section (table and how it was measured) and the two targets, for docs/benchmarks.md. */
export function wsReport (results: WsResults, opts: Pick<WsBenchOptions, 'seconds' | 'rounds' | 'connections' | 'window'>): { lines: string[], targets: Target[] } {
  const ratio = (size: Size, rate: keyof WsRate): number => results['auth-proxy'][size][rate] / results.nginx[size][rate]
  const lines = ['## WebSocket tunnel', '',
    `${opts.connections ?? 8} connections, ${opts.window ?? 16} binary messages in flight on each, every one echoed by a Node \`ws\` ` +
    `upstream; ${opts.seconds} s × ${opts.rounds} interleaved round(s), medians. MB/s: payload bytes echoed back per second ` +
    '(10^6 bytes, one way; each crosses the proxy twice). nginx as the WebSocket reverse proxy of its docs, default buffers.', '',
    '| System | msg/s (64 B) | MB/s (64 B) | msg/s (64 KiB) | MB/s (64 KiB) | vs nginx (64 B, 64 KiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |']
  for (const id of ['upstream', 'nginx', 'auth-proxy'] as const) {
    const { small, large } = results[id]
    const vs = id === 'auth-proxy' ? `${fmt(ratio('small', 'msgsPerS'), 2)}×, ${fmt(ratio('large', 'mbPerS'), 2)}×` : ''
    lines.push(`| ${LABELS[id]} | ${fmt(small.msgsPerS)} | ${fmt(small.mbPerS, 1)} | ${fmt(large.msgsPerS)} | ${fmt(large.mbPerS, 1)} | ${vs} |`)
  }
  lines.push('')
  const target = (what: string, r: number): Target => ({ what, goal: '≥ 0.8×', measured: `${fmt(r, 2)}×`, met: r >= 0.8 })
  const targets = [
    target('WebSocket tunnel, auth-proxy / nginx, message rate (64 B)', ratio('small', 'msgsPerS')),
    target('WebSocket tunnel, auth-proxy / nginx, byte rate (64 KiB)', ratio('large', 'mbPerS'))
  ]
  return { lines, targets }
}

/** Standalone: `node bench/websocket.ts [--smoke]` prints the section and the targets (needs `npx tsc -b` first). */
async function main (): Promise<void> {
  const { values } = parseArgs({
    options: { smoke: { type: 'boolean', default: false }, duration: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' } }
  })
  if (!existsSync(AUTH_PROXY_ENTRY)) throw new Error(`${AUTH_PROXY_ENTRY} is missing: run \`npx tsc -b\` first`)
  const work = mkdtempSync(join(tmpdir(), 'bench-ws-'))
  const [user, password] = ['bench', 'bench-password-1041']
  const htpasswdFile = join(work, 'apr1.htpasswd')
  writeFileSync(htpasswdFile, execFileSync('htpasswd', ['-nbm', user, password], { encoding: 'utf8' }))
  chmodSync(htpasswdFile, 0o644) // nginx's worker may run as another user
  const opts = {
    work, htpasswdFile, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    seconds: values.smoke ? 1 : Number(values.duration), rounds: values.smoke ? 1 : Number(values.rounds),
    log: (msg: string): void => { process.stderr.write(`bench: ${msg}\n`) }
  }
  try {
    const { lines, targets } = wsReport(await benchWebSockets(opts), opts)
    lines.push('| Target | Goal | Measured | Met |', '| --- | --- | --- | --- |')
    for (const t of targets) lines.push(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('SIGINT', () => { killAll(); process.exit(130) })
  main().then(() => { killAll() }, (err: unknown) => {
    killAll()
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  })
}
