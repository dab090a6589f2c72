// What the image runs: the esbuild bundle of the auth-proxy, with the Node flags the benchmark also uses.
// Built here from dist/ into a temporary directory and run as a process: it must serve, hash, and load the lazy
// LDAP and OpenID Connect chunks.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { basic, send } from '../helpers/http.ts'
import { htpasswdLine, tempDir } from '../helpers/htpasswd.ts'
import { ROOT } from '../helpers/process.ts'
import { freePort, startUpstream } from '../helpers/upstream.ts'

const dir = tempDir()
// Inside the repository, so the bundle finds node_modules (bcrypt) as it does in the image.
const out = join(ROOT, '.tap', `bundle-test-${process.pid}`)
t.teardown(() => { dir.remove(); rmSync(out, { recursive: true, force: true }) })
execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.ts'), out])
const CLI = join(out, 'cli.js')

t.test('the image and the benchmark run the proxy with the same Node flags', async (t) => {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'services/auth-proxy/Dockerfile'), 'utf8'))?.[1]
  const image = (JSON.parse(entrypoint ?? '[]') as string[]).filter((a) => a.startsWith('--'))
  const bench = /process\.env\.BENCH_AUTH_PROXY_NODE_FLAGS.*?\?\? (\[[^\]]*\])/.exec(readFileSync(join(ROOT, 'bench/systems.ts'), 'utf8'))?.[1]
  t.ok(image.length > 0)
  t.same(image, JSON.parse((bench ?? '[]').replaceAll("'", '"')) as string[])
})

async function serve (t: Test, env: Record<string, string>): Promise<{ url: string, management: string }> {
  const [port, management] = [await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--max-semi-space-size=8', CLI, 'serve'], {
    env: { PATH: process.env.PATH ?? '', LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port), MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(management), SHUTDOWN_DELAY: '0', ...env }
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  t.teardown(async () => { child.kill('SIGTERM'); await new Promise((resolve) => child.once('exit', resolve)) })
  for (let i = 0; i < 200 && !/listening/i.test(output); i++) {
    if (child.exitCode !== null) throw new Error(`bundle exited: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return { url: `http://127.0.0.1:${port}`, management: `http://127.0.0.1:${management}` }
}

t.test('the bundle serves: Basic auth in front of an upstream, readiness', async (t) => {
  const upstream = await startUpstream()
  t.teardown(async () => { await upstream.close() })
  const { url, management } = await serve(t, { UPSTREAM_URL: upstream.url, HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('admin', 'admin1041')) })
  t.equal((await send(`${url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status, 200)
  t.equal((await send(`${url}/`)).status, 401)
  t.equal((await send(`${management}/readyz`)).status, 200)
})

t.test('the bundle loads its lazy chunks: LDAP and OpenID Connect backends start (their servers down: not ready)', async (t) => {
  const dead = await freePort()
  const { management } = await serve(t, {
    LDAP_URL: `ldap://127.0.0.1:${dead}`, LDAP_BIND_DN_TEMPLATE: 'uid={user},dc=example,dc=org', LDAP_SEARCH_FILTER: '(uid={user})',
    OIDC_ISSUER_URL: `http://127.0.0.1:${dead}`, OIDC_CLIENT_ID: 'x', SESSION_SECRET: 'x'.repeat(32), OIDC_TIMEOUT: '1s'
  })
  const res = await send(`${management}/readyz`)
  t.equal(res.status, 503)
  t.match(JSON.parse(res.body), { credentials: { ldap: { ready: false }, oidc: { ready: false } } })
})

t.test('the bundle hashes: `hash USER --stdin` prints an htpasswd bcrypt line', async (t) => {
  const line = execFileSync(process.execPath, [CLI, 'hash', 'alice', '--stdin', '--cost', '4'], { input: 'pw' }).toString().trim()
  t.match(line, /^alice:\$2y\$04\$/)
})
