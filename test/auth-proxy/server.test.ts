// The built proxy as a real process next to the real hello process, as in the Pod.
import t from 'tap'
import { basic, send } from '../helpers/http.ts'
import { expectDemoSite } from '../helpers/demo.ts'
import { runService, ROOT } from '../helpers/process.ts'
import { freePort } from '../helpers/upstream.ts'

const DEMO_HTPASSWD = `${ROOT}demo/htpasswd`

t.test('invalid configuration: exit 78, every problem named, no stack trace', async (t) => {
  const proxy = runService('auth-proxy', { LISTEN_PORT: 'http', LOG_LEVEL: 'chatty' })
  t.equal(await proxy.exited, 78)
  t.match(proxy.stderr, /^auth-proxy: invalid configuration:/)
  t.match(proxy.stderr, /LISTEN_PORT: must be a TCP port/)
  t.match(proxy.stderr, /LOG_LEVEL: must be one of/)
  t.match(proxy.stderr, /HTPASSWD_FILE: no credentials configured/)
  t.notMatch(proxy.stderr, /\n\s+at /)
})

t.test('unreadable HTPASSWD_FILE: exit 1 with a message naming the variable and the code', async (t) => {
  const proxy = runService('auth-proxy', { HTPASSWD_FILE: '/nonexistent/htpasswd', LISTEN_PORT: '0', MANAGEMENT_PORT: '0' })
  t.equal(await proxy.exited, 1)
  t.match(proxy.stderr, /\[AUTH_PROXY_ERR_CREDENTIALS_LOAD\] HTPASSWD_FILE: cannot read \/nonexistent\/htpasswd \(ENOENT\)/)
  t.notMatch(proxy.stderr, /\n\s+at /)
})

t.test('the issue\'s acceptance run: hello + proxy with the demo htpasswd, hello stopped and restarted', async (t) => {
  const [appPort, proxyPort, mgmtPort] = [await freePort(), await freePort(), await freePort()]
  let hello = runService('hello', { PORT: String(appPort) })
  const proxy = runService('auth-proxy', {
    HTPASSWD_FILE: DEMO_HTPASSWD,
    UPSTREAM_URL: `http://127.0.0.1:${appPort}`,
    LISTEN_HOST: '127.0.0.1',
    LISTEN_PORT: String(proxyPort),
    MANAGEMENT_HOST: '127.0.0.1',
    MANAGEMENT_PORT: String(mgmtPort)
  })
  t.teardown(() => { hello.process.kill('SIGKILL'); proxy.process.kill('SIGKILL') })
  await hello.waitFor(/Server listening/)
  await proxy.waitFor(new RegExp(`listening at http://127.0.0.1:${mgmtPort}`))
  const site = `http://127.0.0.1:${proxyPort}`
  const mgmt = `http://127.0.0.1:${mgmtPort}`

  await expectDemoSite(t, site)
  t.equal((await send(`${mgmt}/readyz`)).status, 200)
  t.equal((await send(`${mgmt}/healthz`)).status, 200)

  hello.process.kill('SIGTERM')
  t.equal(await hello.exited, 0)
  t.equal((await send(`${site}/`, { headers: { authorization: basic('admin', 'admin1041') } })).status, 502)
  t.not((await send(`${mgmt}/readyz`)).status, 200)

  hello = runService('hello', { PORT: String(appPort) })
  await hello.waitFor(/Server listening/)
  t.equal((await send(`${site}/`, { headers: { authorization: basic('admin', 'admin1041') } })).body, 'Hello World', 'recovered without restarting the proxy')
  t.equal((await send(`${mgmt}/readyz`)).status, 200)

  proxy.process.kill('SIGTERM')
  t.equal(await proxy.exited, 0, 'proxy exits 0 on SIGTERM')
  t.notMatch(proxy.stdout + proxy.stderr, /admin1041|YWRtaW46YWRtaW4xMDQx/, 'the password never reached the logs')
})
