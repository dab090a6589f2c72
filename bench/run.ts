// `npm run bench`: the auth-proxy against nginx (the tutorial's sidecar) and Caddy, on loopback, with wrk.
// Systems are interleaved and repeated so drift cancels out; medians are reported with ratios to nginx measured
// in the same run. A benchmark, not a test: `--smoke` only checks that it all works (CI), nothing is asserted.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { markdown, median, svg, type Extras, type SystemDef, type Target } from './report.ts'
import { killAll, PINNED, ROOT, startAuthProxy, startCaddy, startHello, startNginx, waitFor, type Running } from './systems.ts'
import { wrk, type WrkResult } from './wrk.ts'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8,32,128' },
    out: { type: 'string' }
  }
})
const smoke = args.smoke
const seconds = smoke ? 1 : Number(args.duration)
const rounds = smoke ? 1 : Number(args.rounds)
const connections = smoke ? [32] : args.connections.split(',').map(Number)
const outDir = args.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'bench-smoke-')) : join(ROOT, 'docs'))

const USER = 'bench'
const PASSWORD = 'bench-password-1041'
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`
const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`) }

function htpasswd (mode: string[]): string { return execFileSync('htpasswd', ['-nb', ...mode, USER, PASSWORD], { encoding: 'utf8' }).trim() }

function rssMb (pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
}

/** Busy fraction of the CPU the systems under test run on (CPU 0 when pinned, all CPUs otherwise) over `ms`. */
async function busy (ms: number): Promise<number> {
  const line = PINNED ? /^cpu0 (.+)$/m : /^cpu (.+)$/m
  const sample = (): number[] => (line.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number)
  const a = sample()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = sample()
  const delta = b.map((v, i) => v - (a[i] ?? 0))
  const total = delta.reduce((x, y) => x + y, 0)
  const idle = (delta[3] ?? 0) + (delta[4] ?? 0) // idle + iowait
  return total === 0 ? 0 : 1 - idle / total
}

/**
 * Waits until the previous system has stopped working: nginx with bcrypt keeps hashing the requests wrk left
 * queued (128 × ~60 ms at c=128) long after wrk has gone, and measured whatever ran next, not itself.
 */
async function settle (): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && await busy(200) > 0.15) { /* still busy */ }
}

/**
 * RSS after load from /proc/PID/smaps_rollup, split into file-backed pages (the node binary's code) and anonymous
 * memory. One read, so the parts add up to the total.
 */
function memoryAfterLoad (pid: number): Pick<Extras, 'rssAfterLoadMb' | 'fileBackedMb' | 'privateMb'> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN)
  return { rssAfterLoadMb: kb('Rss') / 1024, fileBackedMb: (kb('Rss') - kb('Anonymous')) / 1024, privateMb: kb('Anonymous') / 1024 }
}

async function startToReady (upstream: string, file: string): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < (smoke ? 1 : 5); i++) {
    const started = performance.now()
    const p = await startAuthProxy(upstream, file, undefined)
    await waitFor(`${p.managementUrl}/readyz`, undefined)
    times.push(performance.now() - started)
    await p.stop()
  }
  return median(times)
}

/** An upstream that reads and discards request bodies (the hello app has no upload route). */
async function startSink (): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer((req, res) => { req.resume(); req.on('end', () => { res.end('stored') }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) } }
}

async function uploadGrowth (file: string): Promise<{ growthMb: number, seconds: number }> {
  const sink = await startSink()
  const p = await startAuthProxy(sink.url, file, undefined)
  await waitFor(`${p.managementUrl}/readyz`, undefined)
  const total = smoke ? 64 * 1024 ** 2 : 1024 ** 3
  const baseline = rssMb(p.pid)
  let peak = baseline
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb(p.pid)) }, 25)
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024)
    let sent = 0
    const body = new Readable({ read () { if (sent >= total) { this.push(null); return } sent += chunk.length; this.push(chunk) } })
    const req = request(p.url, { method: 'POST', agent: false, headers: { authorization: AUTH, 'content-length': String(total) } }, (res) => { res.resume(); res.on('end', resolve) })
    req.on('error', reject)
    body.pipe(req)
  })
  clearInterval(sampler)
  const seconds = (performance.now() - started) / 1000
  await p.stop()
  await sink.close()
  return { growthMb: peak - baseline, seconds }
}

async function main (): Promise<void> {
  execFileSync('bash', [join(ROOT, 'bench/install.sh')], { stdio: 'inherit' })
  execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' })
  const work = mkdtempSync(join(tmpdir(), 'bench-'))
  const files = {
    sha: join(work, 'sha.htpasswd'), apr1: join(work, 'apr1.htpasswd'), bcrypt: join(work, 'bcrypt.htpasswd')
  }
  writeFileSync(files.sha, `${htpasswd(['-s'])}\n`)
  writeFileSync(files.apr1, `${htpasswd(['-m'])}\n`) // what the tutorial's `htpasswd -cb` writes
  const bcryptLine = htpasswd(['-B', '-C', '10'])
  writeFileSync(files.bcrypt, `${bcryptLine}\n`)
  execFileSync('chmod', ['-R', 'a+rX', work])

  log('starting systems')
  const hello = await startHello()
  const started: Array<[SystemDef, Running]> = [
    [{ id: 'upstream', label: 'upstream direct (ceiling)' }, hello],
    [{ id: 'nginx-sha', label: 'nginx {SHA}' }, await startNginx(work, hello.url, files.sha, AUTH)],
    [{ id: 'nginx-apr1', label: 'nginx apr1 (tutorial)' }, await startNginx(work, hello.url, files.apr1, AUTH)],
    [{ id: 'nginx-bcrypt', label: 'nginx bcrypt' }, await startNginx(work, hello.url, files.bcrypt, AUTH)],
    [{ id: 'caddy-bcrypt', label: 'Caddy bcrypt + hash_cache' }, await startCaddy(work, hello.url, USER, bcryptLine.slice(USER.length + 1), AUTH)],
    [{ id: 'ours-sha', label: 'auth-proxy {SHA}', baseline: 'nginx-sha' }, await startAuthProxy(hello.url, files.sha, AUTH)],
    [{ id: 'ours-apr1', label: 'auth-proxy apr1', baseline: 'nginx-apr1' }, await startAuthProxy(hello.url, files.apr1, AUTH)],
    [{ id: 'ours-bcrypt', label: 'auth-proxy bcrypt', baseline: 'nginx-bcrypt' }, await startAuthProxy(hello.url, files.bcrypt, AUTH)]
  ]
  const systems = started.map(([s]) => s)
  // Warm-up, not recorded: a fresh Node process runs its first seconds in the interpreter (round 1 measured the
  // proxies at a third of their speed); nginx and Caddy get the same treatment.
  log('warming up')
  for (const [, r] of started) { await settle(); await wrk(r.url, AUTH, 32, smoke ? 1 : 2) }
  const samples = new Map<string, WrkResult[]>()
  for (let round = 1; round <= rounds; round++) {
    for (const c of connections) {
      // Rotate the order each round so no system always runs first (or after the noisiest one).
      const order = started.map((_, i) => started[(i + round) % started.length]) as Array<[SystemDef, Running]>
      for (const [s, r] of order) {
        await settle()
        const result = await wrk(r.url, AUTH, c, seconds)
        if (result.non2xx > 0 || result.errors > 0) log(`${s.id} c=${c}: ${result.non2xx} non-2xx, ${result.errors} socket errors`)
        const key = `${s.id}@${c}`
        samples.set(key, [...(samples.get(key) ?? []), result])
        log(`round ${round} c=${c} ${s.id}: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms.toFixed(2)} ms`)
      }
    }
  }
  const results = new Map<string, WrkResult>()
  for (const [key, list] of samples) {
    results.set(key, {
      rps: median(list.map((r) => r.rps)), p50Ms: median(list.map((r) => r.p50Ms)), p99Ms: median(list.map((r) => r.p99Ms)),
      non2xx: list.reduce((n, r) => n + r.non2xx, 0), errors: list.reduce((n, r) => n + r.errors, 0)
    })
  }
  const ours = started.find(([s]) => s.id === 'ours-bcrypt')?.[1]
  const memory = ours !== undefined ? memoryAfterLoad(ours.pid) : { rssAfterLoadMb: Number.NaN, fileBackedMb: Number.NaN, privateMb: Number.NaN }
  for (const [, r] of started) if (r !== hello) await r.stop()

  log('start-to-ready and 1 GiB upload')
  const startMs = await startToReady(hello.url, files.bcrypt)
  const upload = await uploadGrowth(files.bcrypt)
  await hello.stop()
  const extras: Extras = { ...memory, startToReadyMs: startMs, uploadGrowthMb: upload.growthMb, uploadSeconds: upload.seconds }

  const at = (id: string, c: number): WrkResult | undefined => results.get(`${id}@${c}`)
  const ratio = (a: string, b: string, c: number): number => (at(a, c)?.rps ?? Number.NaN) / (at(b, c)?.rps ?? Number.NaN)
  const c32 = connections.includes(32) ? 32 : (connections[0] ?? 32)
  const targets: Target[] = [
    { what: `auth-proxy / nginx, tutorial's apr1 file (c=${c32})`, goal: '≥ 3×', measured: `${ratio('ours-apr1', 'nginx-apr1', c32).toFixed(2)}×`, met: ratio('ours-apr1', 'nginx-apr1', c32) >= 3 },
    { what: `auth-proxy / nginx, bcrypt (c=${c32})`, goal: '≥ 500×', measured: `${ratio('ours-bcrypt', 'nginx-bcrypt', c32).toFixed(0)}×`, met: ratio('ours-bcrypt', 'nginx-bcrypt', c32) >= 500 },
    { what: `auth-proxy / Caddy, bcrypt + hash cache (c=${c32})`, goal: '≥ 1.3×', measured: `${ratio('ours-bcrypt', 'caddy-bcrypt', c32).toFixed(2)}×`, met: ratio('ours-bcrypt', 'caddy-bcrypt', c32) >= 1.3 },
    { what: `auth-proxy / nginx, cheapest scheme {SHA} (c=${c32})`, goal: '≥ 0.5×', measured: `${ratio('ours-sha', 'nginx-sha', c32).toFixed(2)}×`, met: ratio('ours-sha', 'nginx-sha', c32) >= 0.5 },
    ...connections.map((c) => ({
      what: `p99, auth-proxy apr1 vs nginx apr1 (c=${c})`, goal: '≤ nginx',
      measured: `${(at('ours-apr1', c)?.p99Ms ?? Number.NaN).toFixed(2)} vs ${(at('nginx-apr1', c)?.p99Ms ?? Number.NaN).toFixed(2)} ms`,
      met: (at('ours-apr1', c)?.p99Ms ?? Infinity) <= (at('nginx-apr1', c)?.p99Ms ?? 0)
    })),
    { what: 'RSS after sustained load', goal: '≤ 80 MB', measured: `${memory.rssAfterLoadMb.toFixed(1)} MB`, met: memory.rssAfterLoadMb <= 80 },
    { what: 'start-to-ready', goal: '≤ 200 ms', measured: `${startMs.toFixed(0)} ms`, met: startMs <= 200 },
    { what: '1 GiB upload RSS growth', goal: '≤ 20 MB', measured: `${upload.growthMb.toFixed(1)} MB`, met: upload.growthMb <= 20 }
  ]
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU'
  const pinning = PINNED
    ? 'Pinned: each system under test runs alone on CPU 0, wrk and the app share CPU 1 (so "upstream direct" is the ceiling for every proxy). '
    : 'Not pinned to CPUs (BENCH_PIN=0 or taskset missing). '
  const meta = `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu} (${availableParallelism()} CPUs), Node ${process.version}, ` +
    `loopback, \`wrk -t1 -cN -d${seconds}s\`, ${rounds} interleaved round(s), medians. One nginx worker, one Node process, ` +
    'Caddy with GOMAXPROCS=1; all in front of the same Node hello upstream; access logs off everywhere ' +
    `(auth-proxy at LOG_LEVEL=warn). ${pinning}Absolute numbers drift between runs and machines: compare ratios within one run. ` +
    'Reproduce with `npm run bench`.'
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'benchmarks.md'), markdown(systems, connections, results, extras, targets, meta))
  writeFileSync(join(outDir, 'benchmarks.svg'), svg(systems, c32, results))
  process.stdout.write(markdown(systems, connections, results, extras, targets, meta))
  log(`wrote ${join(outDir, 'benchmarks.md')} and benchmarks.svg`)
  rmSync(work, { recursive: true, force: true })
}

process.on('SIGINT', () => { killAll(); process.exit(130) })
main().then(() => { killAll() }, (err: unknown) => {
  killAll()
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
