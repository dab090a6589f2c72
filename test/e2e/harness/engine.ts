// TEST HARNESS ONLY — small helpers to drive podman and docker-compose from the e2e tests, with errors that
// say which step failed and what the tool printed.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { request } from 'node:http'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../../helpers/process.ts'

const execFileAsync = promisify(execFile)

export const IMAGES = Object.freeze({
  hello: 'localhost/auth-proxy-sidecar/hello:latest',
  authProxy: 'localhost/auth-proxy-sidecar/auth-proxy:latest'
})

/** Runs a command; on failure throws an error naming the step, with the command's own output. */
export async function run (step: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string, message: string }
    throw new Error(`e2e step failed: ${step}\n$ ${cmd} ${args.join(' ')}\n${e.stderr ?? ''}${e.stdout ?? ''}`.slice(0, 8000), { cause: err })
  }
}

/** Installs/configures the engine and the stand-in base image (no-ops when already done). */
export async function prepareEngine (): Promise<void> {
  await run('prepare the container engine (test/e2e/harness/engine.sh)', 'bash', ['test/e2e/harness/engine.sh'])
  await run('provide node:24-bookworm-slim without a registry (test/e2e/harness/base-image.sh)', 'bash', ['test/e2e/harness/base-image.sh'])
}

/** Builds both images from the Dockerfiles exactly as committed. */
export async function buildImages (): Promise<void> {
  for (const [dockerfile, tag] of [['services/hello/Dockerfile', IMAGES.hello], ['services/auth-proxy/Dockerfile', IMAGES.authProxy]] as const) {
    await buildImage(dockerfile, tag)
  }
}

/** Builds one image from a committed Dockerfile, with the repository root as context; never pulls. */
export async function buildImage (dockerfile: string, tag: string, buildArgs: Record<string, string> = {}): Promise<void> {
  const args = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`])
  await run(`build ${tag} from ${dockerfile}`, 'podman', ['build', '--pull=never', '-q', ...args, '-f', dockerfile, '-t', tag, '.'])
}

/** Polls until `check` resolves true, or throws with `what` after the deadline. */
export async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try { if (await check()) return } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`e2e: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

async function pings (socket: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping' }, (res) => { res.resume(); resolve(res.statusCode === 200) })
    req.on('error', () => { resolve(false) })
    req.end()
  })
}

/** podman's Docker-compatible API socket, for docker-compose. Returns the service process it started, if any. */
export async function startPodmanService (socket: string): Promise<ChildProcess | undefined> {
  if (await pings(socket)) return undefined
  mkdirSync(dirname(socket), { recursive: true })
  const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore' })
  await waitUntil(`podman API on ${socket}`, async () => await pings(socket), 20_000)
  return service
}

/** Listening TCP sockets inside a container, read from /proc/net/tcp{,6} (the slim image has no ss/netstat). */
export async function listeningSockets (container: string): Promise<string[]> {
  const out = await run(`read sockets in ${container}`, 'podman', ['exec', container, 'cat', '/proc/net/tcp', '/proc/net/tcp6'])
  const found: string[] = []
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols[3] !== '0A') continue // 0A = LISTEN
    const [hexAddr = '', hexPort = ''] = (cols[1] ?? '').split(':')
    found.push(`${decodeAddress(hexAddr)}:${parseInt(hexPort, 16)}`)
  }
  return found
}

function decodeAddress (hex: string): string {
  if (hex.length === 8) return (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.')
  if (hex === '00000000000000000000000000000000') return '::'
  if (hex === '00000000000000000000000001000000') return '::1'
  if (hex.startsWith('0000000000000000FFFF0000')) return `::ffff:${decodeAddress(hex.slice(24))}`
  return hex
}
