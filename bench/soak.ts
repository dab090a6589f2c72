// `npm run soak`: two proxy replicas behind a round-robin front (HAProxy, health-checking /readyz as a Service
// would), in front of a real app process, with an htpasswd Secret (kubelet layout), slapd and an OpenID provider,
// under mixed traffic for a set time while faults are injected on a schedule. Reports what was sent and how it was
// answered, which failures the fault in force explains, and the memory, descriptors and event-loop delay of the
// replica that ran throughout; writes docs/soak.md and docs/soak.svg. A benchmark-like run, not a test: `--smoke`
// (CI) runs one minute to show it all works; nothing is asserted.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { htpasswdLine, tempDir } from '../test/helpers/htpasswd.ts'
import { KubeletSecretVolume } from '../test/helpers/kubelet-secret.ts'
import { CLIENT_ID, CLIENT_SECRET, startProvider, type TestProvider } from '../test/helpers/oidc-provider.ts'
import { DIRECTORY, SERVICE_DN, SERVICE_PASSWORD, startSlapd, SUFFIX } from '../test/helpers/slapd.ts'
import { freePort } from '../test/helpers/upstream.ts'
import { injectFaults, type Fault } from './soak/faults.ts'
import { markdown, summarise, svg, type Sample } from './soak/report.ts'
import { basic, closeClients, hit, OidcUser, Recorder, slowHeaders, wsSession } from './soak/traffic.ts'
import { ROOT } from './systems.ts'

const { values: args } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, minutes: { type: 'string', default: '30' }, out: { type: 'string' } } })
const minutes = args.smoke ? 1 : Number(args.minutes)
const spacingMs = args.smoke ? 6_000 : 30_000
const outDir = args.out ?? (args.smoke ? mkdtempSync(join(tmpdir(), 'soak-smoke-')) : join(ROOT, 'docs'))
const log = (msg: string): void => { process.stderr.write(`soak: ${msg}\n`) }
const SAMPLE_MS = 10_000

execFileSync('bash', [join(ROOT, 'scripts/test-deps.sh'), 'haproxy=haproxy'], { stdio: 'inherit' })

// ---- the environment ---------------------------------------------------------------------------------------
const dir = tempDir()
const USERS = Array.from({ length: 10 }, (_v, i) => [`soak${i}`, `soak-password-${i}`] as const)
let rotation = 0
const rotatingPassword = (): string => `rotating-${rotation}`
const htpasswdFile = (): string => `${[...USERS, ['rotating', rotatingPassword()] as const].map(([u, p]) => htpasswdLine(u, p, '-B', 5)).join('\n')}\n`
mkdirSync(join(dir.path, 'secret'))
const volume = new KubeletSecretVolume(join(dir.path, 'secret'), { htpasswd: htpasswdFile() })

const [frontPort, appPort, providerPort, aPort, aMgmt, bPort, bMgmt] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()]
const front = `http://127.0.0.1:${frontPort}`
const slapd = await startSlapd(DIRECTORY)
const providerOptions = { redirectUris: [`${front}/_auth/callback`], postLogoutRedirectUris: [], accessTokenTtl: 20, port: providerPort }
let provider: TestProvider = await startProvider(providerOptions)

function spawnLogged (name: string, cmd: string, cmdArgs: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, cmdArgs, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000) })
  child.on('exit', (code, signal) => { if (code !== 0 && signal === null) log(`${name} exited ${code}: ${stderr}`) })
  return child
}

let app = spawnLogged('app', process.execPath, ['bench/soak/app.ts', String(appPort)])

interface Replica { readonly name: string, readonly port: number, readonly mgmt: number, child: ChildProcess }
function startReplica (name: string, port: number, mgmt: number): ChildProcess {
  return spawnLogged(`replica ${name}`, process.execPath, ['services/auth-proxy/dist/server.js'] /* relaunches itself with node-flags.ts' flags */, {
    UPSTREAM_URL: `http://127.0.0.1:${appPort}`,
    LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port), MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(mgmt),
    HTPASSWD_FILE: join(dir.path, 'secret', 'htpasswd'),
    LDAP_URL: slapd.url, LDAP_BIND_DN: SERVICE_DN, LDAP_BIND_PASSWORD: SERVICE_PASSWORD, LDAP_SEARCH_BASE: `ou=people,${SUFFIX}`, LDAP_HEALTH_INTERVAL: '2s',
    OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, OIDC_REDIRECT_URL: `${front}/_auth/callback`,
    OIDC_HEALTH_INTERVAL: '5s', SESSION_SECRET: 'soak-session-secret-0123456789abcdef',
    AUTH_BACKENDS: 'htpasswd,ldap,oidc', VERIFY_CACHE_TTL: '30s', SHUTDOWN_DELAY: '2s', SHUTDOWN_TIMEOUT: '5s', LOG_LEVEL: 'warn'
  })
}
const replicas: Replica[] = [
  { name: 'A', port: aPort, mgmt: aMgmt, child: startReplica('A', aPort, aMgmt) },
  { name: 'B', port: bPort, mgmt: bMgmt, child: startReplica('B', bPort, bMgmt) }
]

// The front, as a Service + router would be: round robin, health-checked on /readyz, retrying a refused connection.
const haproxyConfig = dir.file('haproxy.cfg', `global
  maxconn 4000
defaults
  mode http
  retries 2
  option redispatch
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
frontend front
  bind 127.0.0.1:${frontPort}
  default_backend proxies
backend proxies
  balance roundrobin
  option httpchk GET /readyz
${replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check port ${r.mgmt} inter 500 fall 1 rise 2`).join('\n')}
`)
const haproxy = spawnLogged('haproxy', 'haproxy', ['-f', haproxyConfig, '-db'])

async function untilOk (url: string, authorization: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { if ((await fetch(url, { headers: { authorization } })).status === 200) return } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${url} not answering 200`)
    await sleep(200)
  }
}
const [firstUser, firstPassword] = USERS[0] ?? ['', '']
await untilOk(`${front}/`, basic(firstUser, firstPassword))
// HAProxy brings each replica into rotation after two passed health checks (rise 2 × 500 ms): let both be in.
await sleep(2_000)
await untilOk(`${front}/`, basic(firstUser, firstPassword))
log(`ready: front ${front}, replicas ${replicas.map((r) => r.port).join(', ')}; running ${minutes} min`)

// ---- faults ----------------------------------------------------------------------------------------------
const ALL = ['basic', 'rotating', 'ldap', 'oidc', 'oidc-login', 'websocket', 'upload', 'download']
const faults: Fault[] = [
  { name: 'app killed and restarted', graceMs: 3_000, kinds: ALL, results: ['*'],
    run: async () => {
      app.kill('SIGKILL')
      await sleep(3_000)
      app = spawnLogged('app', process.execPath, ['bench/soak/app.ts', String(appPort)])
      await untilOk(`${front}/`, basic(firstUser, firstPassword))
    } },
  { name: 'htpasswd Secret rotated (kubelet-style)', graceMs: 3_500, kinds: ['rotating'], results: ['401'],
    run: async () => { rotation++; volume.update({ htpasswd: htpasswdFile() }); await Promise.resolve() } },
  { name: 'slapd restarted', graceMs: 5_000, kinds: ['ldap'], results: ['503'],
    run: async () => { await slapd.stop(); await sleep(3_000); await slapd.start() } },
  { name: 'OpenID provider restarted', graceMs: 30_000, kinds: ['oidc', 'oidc-login'], results: ['*'],
    run: async () => { await provider.close(); await sleep(3_000); provider = await startProvider(providerOptions) } },
  { name: 'SIGTERM to replica B (rolling restart)', graceMs: 1_000, kinds: ['websocket'], results: ['closed-1001', 'closed-1006'],
    run: async () => {
      const b = replicas[1] as Replica
      const exited = new Promise((resolve) => b.child.once('exit', resolve))
      b.child.kill('SIGTERM')
      await exited
      b.child = startReplica('B', b.port, b.mgmt)
      await sleep(3_000) // ready and back in the front's rotation (rise 2 × 500 ms)
    } },
  { name: 'app stalled 4 s (SIGSTOP)', graceMs: 1_000, kinds: [], results: [],
    run: async () => { app.kill('SIGSTOP'); await sleep(4_000); app.kill('SIGCONT') } }
]

// ---- traffic, samples ------------------------------------------------------------------------------------
const rec = new Recorder()
const samples: Sample[] = []
async function sample (): Promise<void> {
  for (const r of replicas) {
    const pid = r.child.pid
    if (pid === undefined || r.child.exitCode !== null) continue
    try {
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
      const metrics = await (await fetch(`http://127.0.0.1:${r.mgmt}/metrics`)).text()
      const metric = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN)
      samples.push({ at: rec.now(), replica: r.name, rssMb: rss, heapMb: metric('auth_proxy_nodejs_heap_size_used_bytes') / 1048576,
        fds: readdirSync(`/proc/${pid}/fd`).length, eventLoopP99Ms: metric('auth_proxy_nodejs_eventloop_lag_p99_seconds') * 1000 })
    } catch { /* restarting */ }
  }
}
const sampler = setInterval(() => { void sample() }, SAMPLE_MS)
const oidcUsers = [new OidcUser(front, 'alice', 'alice-oidc-pw'), new OidcUser(front, 'bob', 'bob-oidc-pw')]
const ldapUsers = [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['dave', 'dave-pw']] as const
let n = 0
const loops = [
  ...[0, 1, 2, 3].map(async () => { await rec.loop('basic', 50, async () => { const [u, p] = USERS[n++ % USERS.length] ?? USERS[0] ?? ['', '']; await hit(rec, 'basic', `${front}/`, { headers: { authorization: basic(u, p) } }) }) }),
  rec.loop('rotating', 250, async () => { await hit(rec, 'rotating', `${front}/`, { headers: { authorization: basic('rotating', rotatingPassword()) } }) }),
  rec.loop('ldap', 200, async () => { const [u, p] = ldapUsers[n++ % ldapUsers.length] ?? ldapUsers[0]; await hit(rec, 'ldap', `${front}/`, { headers: { authorization: basic(u, p) } }) }),
  ...oidcUsers.map(async (user) => { await rec.loop('oidc', 200, async () => { await user.request(rec) }) }),
  rec.loop('websocket', 100, async () => { await wsSession(rec, `${front.replace('http', 'ws')}/ws`, basic(firstUser, firstPassword), 20) }),
  rec.loop('upload', 500, async () => { await hit(rec, 'upload', `${front}/upload`, { method: 'POST', headers: { authorization: basic(firstUser, firstPassword) }, body: Buffer.alloc(1024 * 1024, 0x62) }) }),
  rec.loop('download', 500, async () => { await hit(rec, 'download', `${front}/download?bytes=${4 * 1024 * 1024}`, { headers: { authorization: basic(firstUser, firstPassword) } }) }),
  // Slow clients go straight to replica A: the front would cut them itself.
  rec.loop('slow-client', 5_000, async () => { await slowHeaders(rec, aPort, 1_000) })
]
const faultRun = injectFaults(faults, spacingMs, () => rec.now(), () => rec.running, log)
await sleep(minutes * 60_000)
clearInterval(sampler) // samples of the proxy under traffic only
rec.running = false
log('stopping traffic')
const windows = await faultRun
await Promise.race([Promise.allSettled(loops), sleep(20_000)])

// ---- report ----------------------------------------------------------------------------------------------
const warmupMs = Math.min(120_000, minutes * 60_000 * 0.2)
const summary = summarise(rec.outcomes, windows, samples, warmupMs)
const meta = `${minutes} min on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${rec.outcomes.length} requests; faults every ${spacingMs / 1000} s in turn; warm-up ${warmupMs / 1000} s excluded from slopes. Reproduce with \`npm run soak\` (\`-- --minutes N\`).`
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'soak.md'), markdown(rec.outcomes, windows, samples, summary, meta))
writeFileSync(join(outDir, 'soak.svg'), svg(rec.outcomes, windows, samples))
log(`${summary.sent} requests, ${summary.failed} failed, ${summary.explained} explained, ${summary.unexplained.length} unexplained; RSS slope ${summary.rssSlope.toFixed(2)} MB/h, FDs ${summary.fdRange.join('-')}, event-loop p99 max ${summary.eventLoopP99MaxMs.toFixed(1)} ms; ${join(outDir, 'soak.md')}`)

// ---- teardown --------------------------------------------------------------------------------------------
for (const r of replicas) r.child.kill('SIGKILL')
haproxy.kill('SIGKILL')
app.kill('SIGCONT')
app.kill('SIGKILL')
await closeClients()
await provider.close()
await slapd.stop()
slapd.dir.remove()
dir.remove()
process.exit(0)
