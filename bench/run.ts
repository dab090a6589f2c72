// `npm run bench`: the auth-proxy against nginx (the tutorial's sidecar) and Caddy, on loopback, with wrk.
// Systems are interleaved and repeated so drift cancels out; medians are reported with ratios to nginx measured
// in the same run. A benchmark, not a test: `--smoke` only checks that it all works (CI), nothing is asserted.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { NODE_FLAGS } from '../services/auth-proxy/src/node-flags.ts'
import { startRedis } from '../test/helpers/redis.ts'
import { benchContainer, type ContainerResults } from './container.ts'
import { markdown, median, svg, type Extras, type SystemDef, type Target } from './report.ts'
import { memoryAfterLoad, startToReady, uploadGrowth } from './resources.ts'
import { killAll, PINNED, ROOT, startAuthProxy, startCaddy, startHello, startNginx, type Running } from './systems.ts'
import { benchWebSockets, wsReport } from './websocket.ts'
import { wrk, type WrkResult } from './wrk.ts'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8,32,128' },
    'no-container': { type: 'boolean', default: false },
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

/** Redis' count of commands it processed: read before and after the load to count round trips per request. */
async function redisCommands (redis: { command: (...a: string[]) => Promise<string> }): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.command('INFO', 'stats'))?.[1] ?? Number.NaN)
}

async function main (): Promise<void> {
  execFileSync('bash', [join(ROOT, 'bench/install.sh')], { stdio: 'inherit' })
  execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' })
  const work = mkdtempSync(join(tmpdir(), 'bench-'))
  const files = {
    plain: join(work, 'plain.htpasswd'), sha: join(work, 'sha.htpasswd'), apr1: join(work, 'apr1.htpasswd'), bcrypt: join(work, 'bcrypt.htpasswd')
  }
  writeFileSync(files.plain, `${USER}:{PLAIN}${PASSWORD}\n`) // nginx's cheapest scheme (the proxy refuses plain text)
  writeFileSync(files.sha, `${htpasswd(['-s'])}\n`)
  writeFileSync(files.apr1, `${htpasswd(['-m'])}\n`) // what the tutorial's `htpasswd -cb` writes
  const bcryptLine = htpasswd(['-B', '-C', '10'])
  writeFileSync(files.bcrypt, `${bcryptLine}\n`)
  execFileSync('chmod', ['-R', 'a+rX', work])

  log('starting systems')
  const hello = await startHello()
  const redis = await startRedis()
  const started: Array<[SystemDef, Running]> = [
    [{ id: 'upstream', label: 'upstream direct (ceiling)' }, hello],
    [{ id: 'nginx-plain', label: 'nginx {PLAIN} (its cheapest)' }, await startNginx(work, hello.url, files.plain, AUTH)],
    [{ id: 'nginx-apr1', label: 'nginx apr1 (tutorial)' }, await startNginx(work, hello.url, files.apr1, AUTH)],
    [{ id: 'nginx-bcrypt', label: 'nginx bcrypt' }, await startNginx(work, hello.url, files.bcrypt, AUTH)],
    [{ id: 'caddy-bcrypt', label: 'Caddy bcrypt + hash_cache' }, await startCaddy(work, hello.url, USER, bcryptLine.slice(USER.length + 1), AUTH)],
    [{ id: 'ours-sha', label: 'auth-proxy {SHA} (vs nginx {PLAIN})', baseline: 'nginx-plain' }, await startAuthProxy(hello.url, files.sha, AUTH)],
    [{ id: 'ours-apr1', label: 'auth-proxy apr1', baseline: 'nginx-apr1' }, await startAuthProxy(hello.url, files.apr1, AUTH)],
    [{ id: 'ours-bcrypt', label: 'auth-proxy bcrypt', baseline: 'nginx-bcrypt' }, await startAuthProxy(hello.url, files.bcrypt, AUTH)],
    [{ id: 'ours-bcrypt-redis', label: 'auth-proxy bcrypt, REDIS_URL set' }, await startAuthProxy(hello.url, files.bcrypt, AUTH, { REDIS_URL: redis.url })]
  ]
  const systems = started.map(([s]) => s)
  // Warm-up, not recorded: a fresh Node process runs its first seconds in the interpreter (round 1 measured the
  // proxies at a third of their speed); nginx and Caddy get the same treatment.
  log('warming up')
  for (const [, r] of started) { await settle(); await wrk(r.url, AUTH, 32, smoke ? 1 : 2) }
  const samples = new Map<string, WrkResult[]>()
  let redisRequests = 0
  let redisRoundTrips = 0
  for (let round = 1; round <= rounds; round++) {
    for (const c of connections) {
      // Rotate the order each round so no system always runs first (or after the noisiest one).
      const order = started.map((_, i) => started[(i + round) % started.length]) as Array<[SystemDef, Running]>
      for (const [s, r] of order) {
        await settle()
        const before = s.id === 'ours-bcrypt-redis' ? await redisCommands(redis) : 0
        const result = await wrk(r.url, AUTH, c, seconds)
        if (s.id === 'ours-bcrypt-redis') {
          redisRoundTrips += await redisCommands(redis) - before - 1 // the INFO that read it
          redisRequests += result.rps * seconds
        }
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
  await redis.stop()

  log('start-to-ready and 1 GiB upload')
  const startMs = await startToReady(hello.url, files.bcrypt, smoke ? 1 : 5)
  const upload = await uploadGrowth(files.bcrypt, smoke ? 64 * 1024 ** 2 : 1024 ** 3, AUTH)
  await hello.stop()
  log('WebSocket tunnels')
  const ws = wsReport(await benchWebSockets({ work, htpasswdFile: files.apr1, authorization: AUTH, seconds, rounds, log }), { seconds, rounds })
  let container: ContainerResults | undefined
  if (!args['no-container']) {
    log('the image in a Pod (podman kube play)')
    container = await benchContainer({ seconds: smoke ? 2 : 10, starts: smoke ? 1 : 5, flags: NODE_FLAGS, log })
  }
  const extras: Extras = { ...memory, startToReadyMs: startMs, uploadGrowthMb: upload.growthMb, uploadSeconds: upload.seconds }
  const targets = [
    ...throughputTargets(results),
    ...memoryTargets(memory.rssAfterLoadMb, startMs, upload.growthMb, container),
    ...ws.targets,
    { what: 'Redis round trips per request, Basic with a cached verify (REDIS_URL set)', goal: '0', measured: `${redisRoundTrips} in ${Math.round(redisRequests).toLocaleString('en-US')} requests`, met: redisRoundTrips === 0 },
    { what: 'req/s with REDIS_URL / without, bcrypt cached (c=32)', goal: '≥ 0.9× (no round trip)', measured: `${ratio(results, 'ours-bcrypt-redis', 'ours-bcrypt', c32).toFixed(2)}×`, met: ratio(results, 'ours-bcrypt-redis', 'ours-bcrypt', c32) >= 0.9 }
  ]
  const sections = [ws.lines, ...(container === undefined ? [] : [containerLines(container)])]
  const report = markdown(systems, connections, results, extras, targets, meta(), sections)
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'benchmarks.md'), report)
  writeFileSync(join(outDir, 'benchmarks.svg'), svg(systems, c32, results))
  process.stdout.write(report)
  log(`wrote ${join(outDir, 'benchmarks.md')} and benchmarks.svg`)
  rmSync(work, { recursive: true, force: true })
}

const c32 = connections.includes(32) ? 32 : (connections[0] ?? 32)
function ratio (results: Map<string, WrkResult>, a: string, b: string, c: number): number {
  return (results.get(`${a}@${c}`)?.rps ?? Number.NaN) / (results.get(`${b}@${c}`)?.rps ?? Number.NaN)
}

function throughputTargets (results: Map<string, WrkResult>): Target[] {
  const at = (id: string, c: number): WrkResult | undefined => results.get(`${id}@${c}`)
  const r = (a: string, b: string): number => ratio(results, a, b, c32)
  return [
    { what: `auth-proxy / nginx, tutorial's apr1 file (c=${c32})`, goal: '≥ 3×', measured: `${r('ours-apr1', 'nginx-apr1').toFixed(2)}×`, met: r('ours-apr1', 'nginx-apr1') >= 3 },
    { what: `auth-proxy / nginx, bcrypt (c=${c32})`, goal: '≥ 500×', measured: `${r('ours-bcrypt', 'nginx-bcrypt').toFixed(0)}×`, met: r('ours-bcrypt', 'nginx-bcrypt') >= 500 },
    { what: `auth-proxy / Caddy, bcrypt + hash cache (c=${c32})`, goal: '≥ 1.3×', measured: `${r('ours-bcrypt', 'caddy-bcrypt').toFixed(2)}×`, met: r('ours-bcrypt', 'caddy-bcrypt') >= 1.3 },
    { what: `auth-proxy {SHA} / nginx {PLAIN}, each's cheapest (c=${c32})`, goal: '≥ 0.65×', measured: `${r('ours-sha', 'nginx-plain').toFixed(2)}×`, met: r('ours-sha', 'nginx-plain') >= 0.65 },
    ...connections.map((c) => ({
      what: `p99, auth-proxy apr1 vs nginx apr1 (c=${c})`, goal: '≤ nginx',
      measured: `${(at('ours-apr1', c)?.p99Ms ?? Number.NaN).toFixed(2)} vs ${(at('nginx-apr1', c)?.p99Ms ?? Number.NaN).toFixed(2)} ms`,
      met: (at('ours-apr1', c)?.p99Ms ?? Infinity) <= (at('nginx-apr1', c)?.p99Ms ?? 0)
    }))
  ]
}

function memoryTargets (rssMb: number, startMs: number, uploadMb: number, container: ContainerResults | undefined): Target[] {
  const mb = (n: number): string => `${n.toFixed(1)} MB`
  return [
    ...(container === undefined
      ? []
      : [
          { what: 'container working set after sustained load (the image, in a Pod)', goal: '≤ 64 MB', measured: mb(container.afterLoadMb), met: container.afterLoadMb <= 64 },
          { what: 'container working set idle', goal: '≤ 48 MB', measured: mb(container.idleMb), met: container.idleMb <= 48 },
          { what: 'start-to-ready in the image', goal: '≤ 150 ms', measured: `${container.startToReadyMs.toFixed(0)} ms`, met: container.startToReadyMs <= 150 }
        ]),
    { what: 'RSS after sustained load (node dist/cli.js, the image\'s flags)', goal: '≤ 80 MB', measured: mb(rssMb), met: rssMb <= 80 },
    { what: 'start-to-ready (host)', goal: '≤ 150 ms', measured: `${startMs.toFixed(0)} ms`, met: startMs <= 150 },
    { what: '1 GiB upload RSS growth', goal: '≤ 20 MB', measured: mb(uploadMb), met: uploadMb <= 20 }
  ]
}

function containerLines (c: ContainerResults): string[] {
  return ['## The image in a Pod', '',
    'The project\'s image in the Pod of `k8s/base` (`podman kube play`, demo bcrypt credentials, hello app beside it), memory as ' +
    'the kubelet counts it: the container cgroup\'s usage minus inactive file pages (the working set, what quotas and OOM decisions use).', '',
    '| Measure | Value |', '| --- | ---: |',
    `| Working set, idle | ${c.idleMb.toFixed(1)} MB |`,
    `| Working set after load (wrk -c32 through the published port, ${Math.round(c.rps).toLocaleString('en-US')} req/s) | ${c.afterLoadMb.toFixed(1)} MB |`,
    `| Start-to-ready inside the image (a second proxy, median) | ${c.startToReadyMs.toFixed(0)} ms |`, '']
}

function meta (): string {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU'
  const pinning = PINNED
    ? 'Pinned: each system under test runs alone on CPU 0, wrk and the app share CPU 1 (so "upstream direct" is the ceiling for every proxy). '
    : 'Not pinned to CPUs (BENCH_PIN=0 or taskset missing). '
  return `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu} (${availableParallelism()} CPUs), Node ${process.version}, ` +
    `loopback, \`wrk -t1 -cN -d${seconds}s\`, ${rounds} interleaved round(s), medians. One nginx worker, one Node process, ` +
    'Caddy with GOMAXPROCS=1; all in front of the same Node hello upstream; access logs off everywhere ' +
    `(auth-proxy at LOG_LEVEL=warn; the REDIS_URL row with a local redis-server). ${pinning}Absolute numbers drift between runs and machines: compare ratios within one run. ` +
    'Reproduce with `npm run bench`.'
}

process.on('SIGINT', () => { killAll(); process.exit(130) })
main().then(() => { killAll() }, (err: unknown) => {
  killAll()
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
