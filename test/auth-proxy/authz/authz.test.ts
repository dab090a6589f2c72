// Authorization rules through the proxy: 403 (HTML, JSON, text) for a signed-in user the rules refuse, with nothing
// reaching the app; groups from HTPASSWD_GROUPS_FILE sent upstream and used by the rules; both files hot-reloaded,
// a bad rules file refused with the old rules kept and the error in /readyz; start-up errors naming the setting.
import { writeFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { runService } from '../../helpers/process.ts'
import { startProxyProcess } from '../../helpers/proxy-process.ts'
import { requestLines, startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { startUpstream, type Received, type Upstream } from '../../helpers/upstream.ts'

const RULES = `# the lab's dashboard
rules:
  - prefix: /static
    allow: public
  - prefix: /admin
    allow: { groups: [admins] }
  - methods: [POST, PUT, PATCH, DELETE]
    allow: { groups: [admins, editors] }
  - path: /notebooks/alice
    allow: { users: [alice] }
`
const dir = tempDir()
t.teardown(() => { dir.remove() })
const htpasswd = dir.file('htpasswd', ['alice', 'root', 'carol'].map((u) => htpasswdLine(u, `${u}-pw`, '-B', 4)).join('\n'))
const ALICE = basic('alice', 'alice-pw')
const ROOT = basic('root', 'root-pw')
let upstream: Upstream

t.before(async () => { upstream = await startUpstream() })
t.teardown(async () => { await upstream.close() })

async function start (t: Test, files: { rules?: string, groups?: string }, extra: Record<string, string> = {}): Promise<RunningProxy> {
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, HTPASSWD_FILE: htpasswd, HTPASSWD_RELOAD_INTERVAL: '100ms', AUTHZ_RELOAD_INTERVAL: '100ms',
    ...(files.rules !== undefined && { AUTHZ_RULES_FILE: files.rules }), ...(files.groups !== undefined && { HTPASSWD_GROUPS_FILE: files.groups }), ...extra
  })
  t.teardown(async () => { await proxy.close() })
  return proxy
}

async function eventually (check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 60; i++) { if (await check()) return; await new Promise((resolve) => setTimeout(resolve, 50)) }
  throw new Error(`never: ${what}`)
}

t.test('a signed-in user the rules refuse gets 403 — as HTML, JSON or text — and nothing reaches the app', async (t) => {
  const proxy = await start(t, { rules: dir.file('rules-1.yaml', RULES), groups: dir.file('groups-1', 'admins: root\neditors: carol\n') })
  const before = upstream.received.length
  const html = await send(`${proxy.url}/admin/users`, { headers: { authorization: ALICE, accept: 'text/html' } })
  t.equal(html.status, 403)
  t.match(html.body, /You are signed in as <strong>alice<\/strong>/)
  t.match(html.headers['content-security-policy'], /default-src 'none'/)
  const json = await send(`${proxy.url}/admin/users`, { headers: { authorization: ALICE, accept: 'application/json' } })
  t.match(JSON.parse(json.body), { statusCode: 403, code: 'AUTH_PROXY_ERR_FORBIDDEN' })
  const text = await send(`${proxy.url}/admin/users`, { headers: { authorization: ALICE } })
  t.match(text.body, /^403 Forbidden \(AUTH_PROXY_ERR_FORBIDDEN, request /)
  t.equal(text.headers['www-authenticate'], undefined, 'no challenge: logging in again would not help')
  t.equal((await send(`${proxy.url}/things`, { method: 'POST', headers: { authorization: ALICE, 'content-type': 'text/plain' }, body: 'x' })).status, 403, 'POST: admins and editors only')
  t.equal(upstream.received.length, before, 'none of those reached the app')

  const root = await send(`${proxy.url}/admin/users`, { headers: { authorization: ROOT } })
  t.equal(root.status, 200)
  t.equal((JSON.parse(root.body) as Received).headers['x-forwarded-groups'], 'admins', 'the groups file\'s groups go upstream')
  t.equal((await send(`${proxy.url}/things`, { method: 'POST', headers: { authorization: basic('carol', 'carol-pw'), 'content-type': 'text/plain' }, body: 'x' })).status, 200, 'carol is an editor')
  t.equal((await send(`${proxy.url}/notebooks/alice`, { headers: { authorization: ALICE } })).status, 200)
  t.equal((await send(`${proxy.url}/notebooks/alice`, { headers: { authorization: ROOT } })).status, 403, 'users: alice only')
  t.equal((await send(`${proxy.url}/static/app.css`)).status, 200, 'public: no login')
  t.equal((await send(`${proxy.url}/admin`)).status, 401, 'anonymous: log in first, whatever the rule')
  t.equal((await send(`${proxy.url}/anything`, { headers: { authorization: ALICE } })).status, 200, 'default: anyone who logs in')

  const lines = requestLines(proxy)
  t.match(lines.find((l) => l.path === '/admin/users'), { status: 403, user: 'alice', rule: 'rules[1]', authz: 'deny' })
  t.match(lines.find((l) => l.path === '/static/app.css'), { status: 200, rule: 'rules[0]', authz: 'public' })
  const metrics = await proxy.app.metrics.registry.metrics()
  t.match(metrics, /auth_proxy_authz_denied_total 5/, 'denials counted')
})

t.test('hot reload: a new rules file applies at once; a bad one is refused, the old rules kept, the error in /readyz', async (t) => {
  const rules = dir.file('rules-2.yaml', RULES)
  const proxy = await start(t, { rules })
  const admin = async (): Promise<number> => (await send(`${proxy.url}/admin`, { headers: { authorization: ALICE } })).status
  t.equal(await admin(), 403)
  writeFileSync(rules, 'rules:\n  - prefix: /admin\n    allow: { users: [alice] }\n')
  await eventually(async () => await admin() === 200, 'the new rules')
  writeFileSync(rules, 'rules:\n  - prefix: /admin\n    allow: everyone\n  - prefix: /a/../b\n    deny: all\n')
  await eventually(async () => (proxy.app.rules?.status().reloadFailures ?? 0) > 0, 'the refusal')
  t.equal(await admin(), 200, 'the previous rules still hold')
  t.match(proxy.app.rules?.status(), { rules: 1, reloads: 1, reloadFailures: 1, lastError: /rules\[0\]\.allow: must be public, authenticated.*rules\[1\]\.prefix/ })
  t.ok(proxy.logs.some((l) => l.msg === 'rules reload refused; keeping the previous rules'))
})

t.test('the real process: /readyz shows a refused rules file and stays ready (the old rules hold)', async (t) => {
  const rules = dir.file('rules-3.yaml', RULES)
  const proxy = await startProxyProcess({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: htpasswd, AUTHZ_RULES_FILE: rules, AUTHZ_RELOAD_INTERVAL: '100ms' })
  t.teardown(async () => { await proxy.stop() })
  writeFileSync(rules, 'rules: [{ prefix: /x }]\n')
  let body: { ready?: boolean, rules?: { lastError?: string } } = {}
  await eventually(async () => {
    const res = await send(`${proxy.mgmt}/readyz`)
    body = JSON.parse(res.body) as typeof body
    return body.rules?.lastError !== undefined
  }, '/readyz naming the error')
  t.equal(body.ready, true)
  t.match(body.rules?.lastError, /rules\[0\]: needs exactly one of allow or deny/)
})

t.test('groups file: re-read when it changes; groups for htpasswd users only', async (t) => {
  const groups = dir.file('groups-4', 'admins: root\n')
  const proxy = await start(t, { rules: dir.file('rules-4.yaml', RULES), groups })
  t.equal((await send(`${proxy.url}/admin`, { headers: { authorization: ALICE } })).status, 403)
  writeFileSync(groups, 'admins: root\nadmins: alice\n# a group on two lines, as Apache allows\n')
  await eventually(async () => (await send(`${proxy.url}/admin`, { headers: { authorization: ALICE } })).status === 200, 'alice an admin')
  writeFileSync(groups, 'not a group line\n')
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal((await send(`${proxy.url}/admin`, { headers: { authorization: ALICE } })).status, 200, 'a bad new version keeps the old groups')
  t.ok(proxy.logs.some((l) => l.msg === 'groups file reload failed; keeping the previous groups'))
})

t.test('start-up: a bad rules or groups file stops the start, naming the setting, the file and each problem', async (t) => {
  const bad = dir.file('bad.yaml', 'default: deny\nrules:\n  - prefix: admin\n    allow: public\n  - path: /x\n')
  for (const [env, pattern] of [
    [{ AUTHZ_RULES_FILE: bad }, /AUTH_PROXY_ERR_RULES_LOAD|AUTHZ_RULES_FILE: .*bad\.yaml: rules\[0\]\.prefix: "admin" must be a plain absolute path; rules\[1\]: needs exactly one of allow or deny/],
    [{ AUTHZ_RULES_FILE: `${dir.path}/missing.yaml` }, /AUTHZ_RULES_FILE: cannot read .*missing\.yaml \(ENOENT\)/],
    [{ AUTHZ_RULES_FILE: dir.file('yaml-error.yaml', 'rules: [\n') }, /AUTHZ_RULES_FILE: .*yaml-error\.yaml: /],
    [{ HTPASSWD_GROUPS_FILE: dir.file('bad-groups', 'admins alice\n') }, /HTPASSWD_GROUPS_FILE: .*bad-groups line 1: expected "group: user user …"/]
  ] as const) {
    const child = runService('auth-proxy', { UPSTREAM_URL: upstream.url, HTPASSWD_FILE: htpasswd, LISTEN_PORT: '0', MANAGEMENT_PORT: '0', ...env })
    const code = await child.exited
    t.not(code, 0, `exits (${code})`)
    t.match(child.stderr, pattern)
    t.notMatch(child.stderr, /\n\s+at /, 'no stack trace')
  }
  const child = runService('auth-proxy', { UPSTREAM_URL: upstream.url, LISTEN_PORT: '0', MANAGEMENT_PORT: '0', LDAP_URL: 'ldap://127.0.0.1:1', LDAP_BIND_DN_TEMPLATE: 'uid={user}', HTPASSWD_GROUPS_FILE: '/x' })
  await child.exited
  t.match(child.stderr, /HTPASSWD_GROUPS_FILE: is set but neither HTPASSWD_FILE nor AUTH_USERNAME is/)
})

t.test('regression: method-override fields dodged method rules; a trailing-dot Host dodged host rules', async (t) => {
  const rules = dir.file('rules-9.yaml', 'rules:\n  - methods: [DELETE]\n    deny: all\n  - host: admin.example.org\n    deny: all\n')
  const proxy = await start(t, { rules })
  const override = await send(`${proxy.url}/item/1`, { method: 'POST', headers: { authorization: ALICE, 'x-http-method-override': 'DELETE', 'x-http-method': 'DELETE', 'x-method-override': 'DELETE', 'content-type': 'text/plain' }, body: 'x' })
  t.equal(override.status, 200, 'a POST is a POST to the rules…')
  const headers = (JSON.parse(override.body) as Received).headers
  t.same(['x-http-method-override', 'x-http-method', 'x-method-override'].filter((h) => h in headers), [], '…and the app never hears it was meant as a DELETE')
  t.equal((await send(`${proxy.url}/item/1`, { method: 'DELETE', headers: { authorization: ALICE } })).status, 403)
  for (const host of ['admin.example.org', 'ADMIN.example.org', 'admin.example.org.', 'admin.example.org:8443']) {
    t.equal((await send(`${proxy.url}/`, { headers: { authorization: ALICE, host } })).status, 403, host)
  }
})
