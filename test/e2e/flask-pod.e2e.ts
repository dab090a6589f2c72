// End to end, the tutorial's scenario for real: the Flask "Hello World" app under gunicorn, built into an image
// from examples/flask (Debian's python3-flask), with the sidecar component added by kustomize
// (k8s/examples/flask), run as one Pod with `podman kube play`. Chromium gets the login prompt, answers it with the
// demo credentials and shows Hello World; without credentials 401; the app is reachable only inside the Pod.
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import t from 'tap'
import { DEMO_PASSWORD, DEMO_USER } from '../helpers/demo.ts'
import { basic, send } from '../helpers/http.ts'
import { freePort } from '../helpers/upstream.ts'
import { buildImage, IMAGES, listeningSockets, prepareEngine, run, waitUntil } from './harness/engine.ts'
import { forPodman, kustomize } from './harness/kube.ts'

const POD = 'flask-pod-0'
const FLASK_IMAGE = 'localhost/flask-hello:latest'
const yamlFile = join(tmpdir(), `auth-proxy-e2e-flask-${process.pid}.yaml`)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
let url = ''

async function cleanUp (): Promise<void> {
  await run('kube down', 'podman', ['kube', 'down', yamlFile]).catch(() => '')
  await run('remove leftover pod', 'podman', ['pod', 'rm', '-f', '--ignore', POD]).catch(() => '')
  await run('remove ConfigMap volume', 'podman', ['volume', 'rm', '-f', 'auth-proxy-htpasswd']).catch(() => '')
}

t.before(async () => {
  await prepareEngine()
  // The stand-in node image is a Debian bookworm like the Dockerfile's default base (no registry here).
  await buildImage('examples/flask/Dockerfile', FLASK_IMAGE, { BASE: 'docker.io/library/node:24-bookworm-slim' })
  await buildImage('services/auth-proxy/Dockerfile', IMAGES.authProxy)
  const port = await freePort()
  writeFileSync(yamlFile, forPodman(kustomize('k8s/examples/flask'), port))
  await cleanUp()
  await run('podman kube play the rendered k8s/examples/flask', 'podman', ['kube', 'play', yamlFile])
  url = `http://127.0.0.1:${port}`
  await waitUntil('gunicorn behind the proxy', async () => (await send(`${url}/`, { headers: { authorization: basic(DEMO_USER, DEMO_PASSWORD) } })).status === 200)
})
t.teardown(cleanUp)

t.test('Chromium: the login prompt for realm "Restricted", answered with admin/admin1041, then Hello World', async (t) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  // The DevTools protocol's Fetch domain sees what a person sees: the browser asking for credentials.
  const cdp = await page.context().newCDPSession(page)
  const challenges: Array<{ scheme: string, realm: string }> = []
  cdp.on('Fetch.requestPaused', (e: { requestId: string }) => { void cdp.send('Fetch.continueRequest', { requestId: e.requestId }) })
  cdp.on('Fetch.authRequired', (e: { requestId: string, authChallenge: { scheme: string, realm: string } }) => {
    challenges.push(e.authChallenge)
    void cdp.send('Fetch.continueWithAuth', { requestId: e.requestId, authChallengeResponse: { response: 'ProvideCredentials', username: DEMO_USER, password: DEMO_PASSWORD } })
  })
  await cdp.send('Fetch.enable', { handleAuthRequests: true })
  const res = await page.goto(`${url}/`)
  t.same(challenges.map((c) => [c.scheme.toLowerCase(), c.realm]), [['basic', 'Restricted']], 'one prompt, for Basic realm "Restricted"')
  t.equal(res?.status(), 200)
  t.equal(await page.textContent('body'), 'Hello World', 'the Flask app answers through the proxy')
})

t.test('without credentials, or with a wrong password: 401 and the challenge; nothing from the app', async (t) => {
  for (const headers of [{}, { authorization: basic(DEMO_USER, 'wrong') }]) {
    const res = await send(`${url}/`, { headers })
    t.equal(res.status, 401)
    t.match(res.headers['www-authenticate'], /^Basic realm="Restricted"/)
    t.notMatch(res.body, /Hello World/)
  }
})

t.test('inside the Pod: gunicorn only on 127.0.0.1:8080, the proxy on 8081', async (t) => {
  const sockets = await listeningSockets(`${POD}-flask`)
  t.ok(sockets.includes('127.0.0.1:8080'), `gunicorn on loopback (${sockets.join(', ')})`)
  t.notOk(sockets.some((s) => s.endsWith(':8080') && s !== '127.0.0.1:8080'), 'gunicorn on no other address')
  t.ok(sockets.some((s) => /^(0\.0\.0\.0|::):8081$/.test(s)), 'the proxy on 8081 for the Pod\'s network')
  const inside = await run('fetch the app from the proxy\'s container', 'podman', ['exec', `${POD}-auth-proxy`, 'node', '-e', PROBE, 'http://127.0.0.1:8080/'])
  t.equal(inside.trim(), '200 Hello World', 'inside the Pod the app answers on loopback')
})

// Prints "<status> <body>" or the connection error's code, for a URL given as the first argument.
const PROBE = 'fetch(process.argv[1]).then(async r => console.log(r.status, await r.text()), e => console.log(e.cause?.code ?? e.message))'

t.test('from another container on the Pod network (as another Pod would): the app is unreachable, the proxy asks for a login', async (t) => {
  const infra = (await run('pod infra container', 'podman', ['pod', 'inspect', POD, '--format', '{{.InfraContainerID}}'])).trim()
  const ip = (await run('pod address', 'podman', ['inspect', infra, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}'])).trim().split(' ')[0] ?? ''
  t.match(ip, /^\d+\.\d+\.\d+\.\d+$/, `the Pod's address on the podman network (${ip})`)
  const probe = async (port: number): Promise<string> => (await run(`reach ${ip}:${port} from outside the Pod`, 'podman',
    ['run', '--rm', '--pull=never', '--entrypoint', 'node', IMAGES.authProxy, '-e', PROBE, `http://${ip}:${port}/`])).trim()
  t.equal(await probe(8080), 'ECONNREFUSED', 'the app\'s port: refused (gunicorn listens on the Pod\'s loopback only)')
  t.match(await probe(8081), /^401 /, 'the proxy\'s port: 401, a login first')
})

t.test('the app container is the user\'s, unchanged; the proxy container was added by the component', async (t) => {
  const image = (await run('flask image', 'podman', ['inspect', '--format', '{{.ImageName}}', `${POD}-flask`])).trim()
  t.equal(image, FLASK_IMAGE)
  const cmd = (await run('flask command', 'podman', ['inspect', '--format', '{{json .Config.Cmd}}', `${POD}-flask`])).trim()
  t.match(cmd, /gunicorn.*127\.0\.0\.1:8080/, 'gunicorn as the image starts it')
  const env = await run('proxy env', 'podman', ['inspect', '--format', '{{json .Config.Env}}', `${POD}-auth-proxy`])
  t.match(env, /UPSTREAM_URL=http:\/\/127\.0\.0\.1:8080/, 'the proxy\'s settings come from the example\'s ConfigMap')
})
