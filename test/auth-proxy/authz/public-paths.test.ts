// PUBLIC_PATHS: exact paths served without authentication. Every trick that makes another path look like a
// public one must fail closed — it needs credentials like any other request.
import t from 'tap'
import { Policy } from '../../../services/auth-proxy/src/authz/policy.ts'
import { NO_RULES } from '../../../services/auth-proxy/src/authz/rules-file.ts'
import { loadConfig } from '../../../services/auth-proxy/src/config.ts'
import { send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { startUpstream, type Received } from '../../helpers/upstream.ts'

const CREDS = { AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041' }

t.test('config: "/path" and "METHOD /path"; anything ambiguous is refused by name', async (t) => {
  t.same(loadConfig({ ...CREDS, PUBLIC_PATHS: '/healthz, GET /static/app.css' }).publicPaths, [{ path: '/healthz' }, { path: '/static/app.css', method: 'GET' }])
  for (const bad of ['healthz', '/a/../b', '/a/./b', '/a%2Fb', '/a;b', '/a?b', '/a\\b', '//a', 'get /a', 'GET /a extra', 'GET']) {
    t.throws(() => loadConfig({ ...CREDS, PUBLIC_PATHS: bad }), /PUBLIC_PATHS: /, bad)
  }
})

t.test('as rules: exact path, method if given, GET admits HEAD, query ignored', async (t) => {
  const policy = new Policy([{ path: '/healthz' }, { path: '/static/app.css', method: 'GET' }], () => NO_RULES)
  const isPublic = (method: string, path: string): boolean => policy.evaluate({ method, host: 'h', path }).public
  t.ok(isPublic('GET', '/healthz'))
  t.ok(isPublic('POST', '/healthz'), 'no method: any method')
  t.ok(isPublic('HEAD', '/static/app.css'))
  t.notOk(isPublic('POST', '/static/app.css'))
  t.notOk(isPublic('GET', '/healthz/'), 'a trailing slash is not the public path (the app may read it as another)')
  t.notOk(isPublic('GET', '/healthzz'))
  t.equal(policy.evaluate({ method: 'GET', host: 'h', path: '/healthz' }).label, 'PUBLIC_PATHS[0]', 'logged by its place in PUBLIC_PATHS')
  t.notOk(new Policy([], () => NO_RULES).evaluate({ method: 'GET', host: 'h', path: '/' }).public)
})

t.test('through the proxy: the public path needs no credentials; every lookalike does', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ ...CREDS, UPSTREAM_URL: upstream.url, PUBLIC_PATHS: '/healthz,GET /static/app.css' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })

  const open = await send(`${proxy.url}/healthz`, { headers: { 'x-forwarded-user': 'root' } })
  t.equal(open.status, 200)
  t.equal((JSON.parse(open.body) as Received).headers['x-forwarded-user'], undefined, 'no identity, and a forged one is stripped')
  t.equal((await send(`${proxy.url}/static/app.css`)).status, 200)
  t.equal((await send(`${proxy.url}/static/app.css`, { method: 'HEAD' })).status, 200)
  t.equal((await send(`${proxy.url}/static/app.css`, { method: 'POST' })).status, 401, 'method-limited')

  const lookalikes = [
    '/healthz/', '//healthz', '/healthz;jsessionid=1', '/%68ealthz', '/healthz%2F', '/healthz%2f..%2fadmin', '/HEALTHZ',
    '/healthz/../admin', '/static/app.css/..;/admin', '/static%2Fapp.css', '/static\\app.css', '/admin?/healthz', '/admin#/healthz'
  ]
  for (const path of lookalikes) {
    const res = await send(`${proxy.url}${path}`)
    t.ok(res.status === 401 || res.status === 400, `${path} → ${res.status}`)
  }
  const reached = upstream.received.map((r) => r.url)
  t.same(reached, ['/healthz', '/static/app.css', '/static/app.css'], 'only the public requests reached the app')
})
