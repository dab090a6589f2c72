// End to end: docker-compose.yml as committed, run by docker-compose against podman's Docker-compatible API.
// TEST HARNESS ONLY workarounds (podman 4.3 API, shared notes on containers): healthchecks never run there (no
// systemd), so readiness is polled here; a first `down` may fail with "has dependent containers", so it is
// retried; images are built by podman first so compose's build reuses that cache.
import type { ChildProcess } from 'node:child_process'
import t from 'tap'
import { basic, send } from '../helpers/http.ts'
import { expectDemoSite } from '../helpers/demo.ts'
import { freePort } from '../helpers/upstream.ts'
import { buildImages, prepareEngine, run, startPodmanService, waitUntil } from './harness/engine.ts'

const SOCKET = '/run/podman/podman.sock'
const PROJECT = 'authproxye2e'
let service: ChildProcess | undefined
let env: NodeJS.ProcessEnv = {}
let url = ''

async function compose (step: string, ...args: string[]): Promise<string> {
  return await run(step, 'docker-compose', ['-p', PROJECT, ...args], env)
}

async function down (): Promise<void> {
  for (let i = 0; i < 2; i++) await compose('compose down', 'down', '--remove-orphans', '-t', '20').catch(() => '')
}

t.before(async () => {
  await prepareEngine()
  await buildImages()
  service = await startPodmanService(SOCKET)
  const port = await freePort()
  env = { DOCKER_HOST: `unix://${SOCKET}`, COMPOSE_DOCKER_CLI_BUILD: '0', AUTH_PROXY_PUBLISH: `127.0.0.1:${port}` }
  await down()
  await compose('docker-compose up --build', 'up', '-d', '--build')
  url = `http://127.0.0.1:${port}`
  await waitUntil('the proxy to answer through the published port', async () => (await send(`${url}/`)).status === 401)
})
t.teardown(async () => {
  await down()
  service?.kill('SIGTERM')
})

t.test('Hello World with the demo credentials, 401 without', async (t) => {
  await waitUntil('the app behind the proxy', async () => (await send(`${url}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status === 200)
  await expectDemoSite(t, url)
})

t.test('the proxy shares hello\'s network namespace: it reaches 127.0.0.1:8080, readiness is green', async (t) => {
  const ready = await compose('readyz from inside the proxy container', 'exec', '-T', 'auth-proxy', 'node', '-e',
    "fetch('http://127.0.0.1:9091/readyz').then(async r => { console.log(r.status, await r.text()) })")
  t.match(ready, /^200 .*"upstream":true/)
})

t.test('stopping: both containers exit 0 on SIGTERM', async (t) => {
  await compose('compose stop', 'stop', '-t', '20')
  const ids = (await compose('container ids', 'ps', '-q')).trim().split('\n').filter((id) => id !== '')
  t.equal(ids.length, 2)
  for (const id of ids) {
    const code = (await run(`exit code of ${id}`, 'podman', ['inspect', '--format', '{{.Name}} {{.State.ExitCode}}', id])).trim()
    t.match(code, / 0$/, code)
  }
})
