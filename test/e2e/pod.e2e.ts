// End to end: both images built from the Dockerfiles unchanged, the rendered k8s base run as a real Pod with
// `podman kube play`, checked from outside (published port) and inside (podman exec).
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { basic, send } from '../helpers/http.ts'
import { expectDemoSite } from '../helpers/demo.ts'
import { freePort } from '../helpers/upstream.ts'
import { buildImages, listeningSockets, prepareEngine, run, waitUntil } from './harness/engine.ts'
import { forPodman, kustomize } from './harness/kube.ts'

const POD = 'hello-pod-0' // podman names a Deployment's pods <name>-pod-<n>
const yamlFile = join(tmpdir(), `auth-proxy-e2e-pod-${process.pid}.yaml`)
let url = ''

async function cleanUp (): Promise<void> {
  await run('kube down', 'podman', ['kube', 'down', yamlFile]).catch(() => '')
  await run('remove leftover pod', 'podman', ['pod', 'rm', '-f', '--ignore', POD]).catch(() => '') // a failed play leaves one behind
  await run('remove ConfigMap volume', 'podman', ['volume', 'rm', '-f', 'hello-htpasswd']).catch(() => '')
}

t.before(async () => {
  await prepareEngine()
  await buildImages()
  const port = await freePort()
  writeFileSync(yamlFile, forPodman(kustomize('k8s/base'), port))
  await cleanUp()
  await run('podman kube play the rendered k8s/base', 'podman', ['kube', 'play', yamlFile])
  url = `http://127.0.0.1:${port}`
  await waitUntil('the proxy to answer through the published port', async () => (await send(`${url}/`)).status === 401)
  // Both containers start together; until the app answers, the proxy says 503 "starting" (tested elsewhere).
  await waitUntil('the app behind the proxy', async () => (await send(`${url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status === 200)
})
t.teardown(cleanUp)

t.test('through the published port: Hello World with the demo credentials, 401 without', async (t) => {
  await expectDemoSite(t, url)
})

t.test('inside the Pod: the app listens only on 127.0.0.1:8080, the proxy on 8081 and 9091', async (t) => {
  const sockets = await listeningSockets(`${POD}-hello`)
  t.ok(sockets.includes('127.0.0.1:8080'), `app on loopback (${sockets.join(', ')})`)
  t.notOk(sockets.some((s) => s.endsWith(':8080') && s !== '127.0.0.1:8080'), 'app on no other address')
  t.ok(sockets.some((s) => /^(0\.0\.0\.0|::):8081$/.test(s)), 'proxy public port')
  t.ok(sockets.some((s) => /^(0\.0\.0\.0|::):9091$/.test(s)), 'proxy management port')
})

t.test('inside the Pod: both processes run as non-root, on a read-only root filesystem with a writable /tmp', async (t) => {
  for (const container of [`${POD}-hello`, `${POD}-auth-proxy`]) {
    const uid = (await run(`uid in ${container}`, 'podman', ['exec', container, 'id', '-u'])).trim()
    t.not(uid, '0', `${container} uid ${uid}`)
    const status = await run(`pid 1 in ${container}`, 'podman', ['exec', container, 'cat', '/proc/1/status'])
    t.match(status, /^Uid:\s+[1-9]\d*\s/m, `${container}: PID 1 is not root`)
    await t.rejects(run(`write to /app in ${container}`, 'podman', ['exec', container, 'touch', '/app/x']), `${container}: / is read-only`)
    await run(`write to /tmp in ${container}`, 'podman', ['exec', container, 'touch', '/tmp/x'])
  }
})

t.test('the htpasswd comes from the mounted Secret, not the image', async (t) => {
  const image = await run('list image files', 'podman', ['run', '--rm', '--entrypoint', 'sh', 'localhost/auth-proxy-sidecar/auth-proxy:latest', '-c', 'grep -rl "admin1041\\|\\$2y\\$" /app /etc 2>/dev/null || true'])
  t.equal(image.trim(), '', 'no credentials in the image')
})

t.test('the image makes htpasswd lines: `hash USER --stdin`', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const res = spawnSync('podman', ['run', '--rm', '-i', '--read-only', 'localhost/auth-proxy-sidecar/auth-proxy:latest', 'hash', 'alice', '--stdin'], {
    input: 'from-the-image\n', encoding: 'utf8'
  })
  t.equal(res.status, 0, res.stderr)
  t.match(res.stdout, /^alice:\$2y\$10\$[./A-Za-z0-9]{53}\n$/)
})

t.test('stopping the Pod: both containers exit 0 on SIGTERM within the grace period', async (t) => {
  await run('stop the pod', 'podman', ['pod', 'stop', '-t', '20', POD])
  for (const container of [`${POD}-hello`, `${POD}-auth-proxy`]) {
    const code = (await run(`exit code of ${container}`, 'podman', ['inspect', '--format', '{{.State.ExitCode}}', container])).trim()
    t.equal(code, '0', `${container} exit code`)
  }
})
