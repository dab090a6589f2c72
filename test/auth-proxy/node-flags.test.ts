// One list of Node flags, whoever starts the proxy: the image's ENTRYPOINT repeats it, and a plain `node
// dist/server.js` relaunches itself with it (same pid). Checked on real processes: /proc/PID/cmdline is what runs.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { missingNodeFlags, NODE_FLAGS } from '../../services/auth-proxy/src/node-flags.ts'
import { until } from '../helpers/hostile.ts'
import { ROOT } from '../helpers/process.ts'
import { freePort } from '../helpers/upstream.ts'

const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'services/auth-proxy/Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[]

t.test('the image runs the proxy with exactly node-flags.ts\'s flags, so it starts without a relaunch', async (t) => {
  t.ok(NODE_FLAGS.length > 0)
  t.same(entrypoint.filter((a) => a.startsWith('--')), NODE_FLAGS)
  t.same(missingNodeFlags(entrypoint.slice(1).filter((a) => a.startsWith('--')), ''), [])
})

t.test('the benchmark and the soak take the flags from node-flags.ts, and the benchmark starts what the image starts', async (t) => {
  const systems = readFileSync(join(ROOT, 'bench/systems.ts'), 'utf8')
  t.match(systems, /\?\? NODE_FLAGS\b/)
  const entry = entrypoint.find((a) => a.endsWith('.js'))
  t.ok(entry !== undefined && systems.includes(`'${entry}'`), `the benchmark starts ${String(entry)} too`)
  t.notMatch(readFileSync(join(ROOT, 'bench/soak.ts'), 'utf8'), /--max-semi-space-size/)
})

t.test('a flag the user set (command line or NODE_OPTIONS) is theirs: not added again', async (t) => {
  t.same(missingNodeFlags([], ''), NODE_FLAGS)
  t.same(missingNodeFlags(['--max-semi-space-size=32'], ''), [])
  t.same(missingNodeFlags([], '--max-semi-space-size=2 --trace-warnings'), [])
  t.same(missingNodeFlags(['--max-old-space-size=64'], ''), NODE_FLAGS, 'another flag is no substitute')
  t.same(missingNodeFlags([], '--max_semi_space_size=16'), [], 'V8 reads _ and - alike: so do we')
})

/** The proxy started as `node [nodeArgs] services/auth-proxy/dist/server.js`; what it runs as once listening. */
async function started (nodeArgs: string[], t: Test, options: { env?: Record<string, string>, ipc?: boolean } = {}): Promise<{ cmdline: string[], stderr: string, child: ChildProcess }> {
  const child = spawn(process.execPath, [...nodeArgs, 'services/auth-proxy/dist/server.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc === true ? ['ipc' as const] : [])],
    env: {
      PATH: process.env.PATH ?? '', UPSTREAM_URL: 'http://127.0.0.1:9', AUTH_USERNAME: 'alice', AUTH_PASSWORD: 'pw', LISTEN_HOST: '127.0.0.1',
      LISTEN_PORT: String(await freePort()), MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(await freePort()), SHUTDOWN_DELAY: '0', ...options.env
    }
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  t.ok(await until(() => out.includes('Server listening'), 10_000), 'listening')
  return { cmdline: readFileSync(`/proc/${child.pid ?? 0}/cmdline`, 'utf8').split('\0').filter((a) => a !== ''), stderr, child }
}

t.test('plain `node dist/server.js` relaunches itself with the flags, in the same process', async (t) => {
  const { cmdline } = await started([], t)
  t.same(cmdline.slice(1, -1), NODE_FLAGS)
  t.match(cmdline.at(-1), /services\/auth-proxy\/dist\/server\.js$/)
})

t.test('a value the user gave on the command line stands, with no relaunch', async (t) => {
  const { cmdline } = await started(['--max-semi-space-size=16'], t)
  t.same(cmdline.slice(1), ['--max-semi-space-size=16', 'services/auth-proxy/dist/server.js'])
})

t.test('no relaunch where it would lose what the process was given, or was turned off: it runs on and says why', async (t) => {
  const forked = await started([], t, { ipc: true })
  t.same(forked.cmdline.slice(1), ['services/auth-proxy/dist/server.js'], 'started with an IPC channel (fork, pm2): not relaunched')
  t.match(forked.stderr, /running without --max-semi-space-size=8 \(an IPC channel would be lost\)/)
  t.equal(forked.child.connected, true, 'the channel is still there')
  const off = await started([], t, { env: { AUTH_PROXY_NO_RELAUNCH: '1' } })
  t.same(off.cmdline.slice(1), ['services/auth-proxy/dist/server.js'])
  t.match(off.stderr, /\(AUTH_PROXY_NO_RELAUNCH=1\)/)
  // (--permission is not tried here: tap's process-info hook, injected into every child, cannot load under it.)
})
