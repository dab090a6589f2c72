// Path confusion against authorization rules instead of PUBLIC_PATHS, on the real proxy process (AUTHZ_RULES_FILE):
// `/pub` public, `/priv` for root only. A public rule must open only what it names as sent (every lookalike logs
// in); a restricting rule must hold for every spelling the app may read as its path (%-escapes, case, `//`,
// `;parameters`, a trailing slash) — alice is refused those with 403 and nothing reaches the app; Tomcat's
// `..;` traversal is refused outright; and the query never widens or narrows a match (GHSA-7rh7-c77v-6434).
import t from 'tap'
import { ALICE, raw, startTarget, until } from '../../helpers/hostile.ts'
import { basicToken, exchange } from '../../helpers/raw-client.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'

const dir = tempDir()
t.teardown(() => { dir.remove() })
const rules = dir.file('rules.yaml', 'rules:\n  - prefix: /pub\n    allow: public\n  - prefix: /priv\n    allow: { users: [root] }\n')
const htpasswd = dir.file('htpasswd', `${htpasswdLine('alice', 'pw', '-B', 4)}\n${htpasswdLine('root', 'rootpw', '-B', 4)}\n`)
const { up, proxy } = await startTarget(t, { AUTH_USERNAME: '', AUTH_PASSWORD: '', PUBLIC_PATHS: '', HTPASSWD_FILE: htpasswd, AUTHZ_RULES_FILE: rules })
t.beforeEach(() => { up.reset() })
const ROOT = `Basic ${basicToken('root', 'rootpw')}`

async function status (target: string, authorization?: string): Promise<number | undefined> {
  const res = await exchange(proxy.port, raw(`GET ${target} HTTP/1.1`, ['Host: x', ...(authorization !== undefined ? [`Authorization: ${authorization}`] : [])]), { responses: 1 })
  return res.statuses[0]
}

for (const target of ['/pub/..;/priv', '/pub/.;/priv', '/pub/..%3b/priv', '/priv/..;x/pub', '/pub/%2e%2e;/priv', '/pub/../priv', '/pub%2f..%2fpriv']) {
  t.test(`path-confusion-rules ${target}: 400 before authentication (Tomcat's ..; traversal among them)`, async (t) => {
    t.equal(await status(target), 400)
    t.equal(await status(target, ROOT), 400)
    t.equal(up.seen.length, 0)
  })
}

for (const target of ['/pub/', '/pub/app.js', '/pub?x=1']) {
  t.test(`path-confusion-rules ${target}: under the public prefix as sent — no login`, async (t) => {
    t.equal(await status(target), 200)
    t.same(up.seen.map((s) => s.url), [target])
  })
}

for (const target of ['//pub', '/PUB', '/Pub/x', '/pub;x=1', '/%70ub', '/pu%62/x', '/pubx', '/%EF%BD%90%EF%BD%95%EF%BD%82', '/x?/pub']) {
  t.test(`path-confusion-rules ${target}: not /pub as sent — 401 without credentials, verbatim to the app with them`, async (t) => {
    t.equal(await status(target), 401)
    t.equal(up.seen.length, 0)
    t.equal(await status(target, ALICE), 200)
    t.same(up.seen.map((s) => s.url), [target])
  })
}

for (const target of ['/priv', '/priv/', '/priv/x', '/PRIV', '/Priv/x', '/%70riv', '/pri%76/x', '/%50RIV', '//priv', '//PRIV//x', '/priv;x=1', '/priv;/x', '/priv%2Fx', '/priv?/pub', '/priv?x']) {
  t.test(`path-confusion-rules ${target}: read by the app as /priv — alice 403 and nothing forwarded; root verbatim`, async (t) => {
    t.equal(await status(target), 401, 'anonymous: log in first')
    t.equal(await status(target, ALICE), 403, 'alice: not allowed')
    t.equal(up.seen.length, 0, 'nothing reached the app')
    t.equal(await status(target, ROOT), 200, 'root')
    t.same(up.seen.map((s) => s.url), [target], 'the app gets exactly the bytes the proxy decided on')
  })
}

t.test('path-confusion-rules: the decision is in the log line (rule and outcome), the query never', async (t) => {
  await status('/priv/x?token=secret', ALICE)
  await status('/pub/a')
  await status('/other', ALICE)
  await until(() => proxy.logLines().some((l) => l.path === '/other'))
  const lines = proxy.logLines().filter((l) => l.msg === 'request').slice(-3)
  t.match(lines[0], { path: '/priv/x', status: 403, user: 'alice', rule: 'rules[1]', authz: 'deny' })
  t.match(lines[1], { path: '/pub/a', status: 200, rule: 'rules[0]', authz: 'public' })
  t.match(lines[2], { path: '/other', status: 200, rule: 'default', authz: 'allow' })
  t.notOk(JSON.stringify(lines).includes('secret'))
})
