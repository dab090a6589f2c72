// Secret rotation without a restart: the kubelet's atomic `..data` swap, under continuous load.
import { join } from 'node:path'
import { writeFileSync, rmSync, renameSync } from 'node:fs'
import t, { type Test } from 'tap'
import { basic, send } from '../../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'
import { KubeletSecretVolume } from '../../../helpers/kubelet-secret.ts'
import { startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { startUpstream } from '../../../helpers/upstream.ts'

const ALICE = htpasswdLine('alice', 'alice-pw', '-B', 4)
const BOB_OLD = htpasswdLine('bob', 'bob-old', '-B', 4)
const BOB_NEW = htpasswdLine('bob', 'bob-new', '-B', 4)

async function status (proxy: RunningProxy, user: string, password: string): Promise<number> {
  return (await send(`${proxy.url}/`, { headers: { authorization: basic(user, password) } })).status
}

async function eventually (what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return Date.now() - started
}

async function setup (t: Test, env: Record<string, string> = {}): Promise<{ proxy: RunningProxy, volume: KubeletSecretVolume, dir: string }> {
  const dir = tempDir()
  const volume = new KubeletSecretVolume(dir.path, { htpasswd: `${ALICE}\n${BOB_OLD}\n` })
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, HTPASSWD_FILE: join(dir.path, 'htpasswd'), HTPASSWD_RELOAD_INTERVAL: '100ms', AUTH_FAILURE_LIMIT: '0', ...env
  })
  t.teardown(async () => { await proxy.close(); await upstream.close(); dir.remove() })
  return { proxy, volume, dir: dir.path }
}

t.test('symlink-swap rotation under continuous load: zero failures for unchanged users, new password within seconds', async (t) => {
  const { proxy, volume } = await setup(t)
  t.equal(await status(proxy, 'bob', 'bob-old'), 200)

  let running = true
  const results = { alice: { ok: 0, failed: 0 } }
  const load = (async () => {
    // Four concurrent loops of an unchanged user, for the whole rotation.
    await Promise.all([0, 1, 2, 3].map(async () => {
      while (running) {
        const code = await status(proxy, 'alice', 'alice-pw')
        if (code === 200) results.alice.ok++
        else results.alice.failed++
      }
    }))
  })()

  await new Promise((resolve) => setTimeout(resolve, 300))
  volume.update({ htpasswd: `${ALICE}\n${BOB_NEW}\n` })
  const took = await eventually('bob\'s new password works', async () => await status(proxy, 'bob', 'bob-new') === 200)
  t.equal(await status(proxy, 'bob', 'bob-old'), 401, 'the old password stops working (the verify cache does not keep it)')
  await new Promise((resolve) => setTimeout(resolve, 300))
  running = false
  await load

  t.ok(took < 3_000, `new password in ${took} ms`)
  t.ok(results.alice.ok > 50, `continuous load (${results.alice.ok} requests)`)
  t.equal(results.alice.failed, 0, 'no failed request for the unchanged user')
  t.match(proxy.logs.find((l) => l.msg === 'htpasswd reloaded'), { users: 2 })
})

t.test('a removed user is locked out at the next check, even with a cached success', async (t) => {
  const { proxy, volume } = await setup(t)
  t.equal(await status(proxy, 'bob', 'bob-old'), 200)
  t.equal(await status(proxy, 'bob', 'bob-old'), 200, 'now served from the verify cache')
  volume.update({ htpasswd: `${ALICE}\n` })
  await eventually('bob is gone', async () => await status(proxy, 'bob', 'bob-old') === 401)
  t.equal(await status(proxy, 'alice', 'alice-pw'), 200)
})

t.test('an invalid new version keeps the old users, logs an error and shows in the status; a fixed one is taken', async (t) => {
  const { proxy, volume } = await setup(t)
  volume.update({ htpasswd: `${ALICE}\nbob:not-a-hash\n` })
  await eventually('the refused reload is recorded', async () => {
    const s = proxy.app.credentials.status() as { lastReloadError?: string }
    return s.lastReloadError !== undefined
  })
  const s = proxy.app.credentials.status() as { lastReloadError?: string, reloadFailures: number, users: number }
  t.match(s.lastReloadError, /line 2: unsupported or malformed password hash for user "bob"/)
  t.equal(s.users, 2, 'old users still in force')
  t.equal(await status(proxy, 'bob', 'bob-old'), 200, 'old password still works')
  const logged = proxy.logs.find((l) => l.msg === 'htpasswd reload failed; keeping the previous users')
  t.ok(logged, 'error logged')
  t.notMatch(JSON.stringify(logged), /not-a-hash|\$2y\$/, 'the log line names the line, not the hash')

  volume.update({ htpasswd: `${ALICE}\n${BOB_NEW}\n` })
  await eventually('the fixed version is taken', async () => await status(proxy, 'bob', 'bob-new') === 200)
  t.equal((proxy.app.credentials.status() as { lastReloadError?: string }).lastReloadError, undefined, 'error cleared')
})

t.test('a vanished or unreadable file keeps the old users', async (t) => {
  const { proxy, dir } = await setup(t)
  renameSync(join(dir, 'htpasswd'), join(dir, 'moved'))
  await eventually('the failure is recorded', async () => (proxy.app.credentials.status() as { reloadFailures: number }).reloadFailures > 0)
  t.match((proxy.app.credentials.status() as { lastReloadError?: string }).lastReloadError, /cannot read .* \(ENOENT\)/)
  t.equal(await status(proxy, 'alice', 'alice-pw'), 200)
})

t.test('an in-place rewrite (no symlinks, e.g. a ConfigMap edited by hand) is picked up too', async (t) => {
  const dir = tempDir()
  const file = dir.file('htpasswd', `${ALICE}\n`)
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: file, HTPASSWD_RELOAD_INTERVAL: '100ms' })
  t.teardown(async () => { await proxy.close(); await upstream.close(); dir.remove() })
  t.equal(await status(proxy, 'bob', 'bob-new'), 401)
  writeFileSync(`${file}.tmp`, `${ALICE}\n${BOB_NEW}\n`)
  renameSync(`${file}.tmp`, file)
  await eventually('bob added', async () => await status(proxy, 'bob', 'bob-new') === 200)
  rmSync(`${file}.tmp`, { force: true })
})
