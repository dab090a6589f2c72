// Host confusion against host rules, on the real proxy process: the rules compare the Host the proxy parsed, the
// app gets the field verbatim, and an app's URL parser reads `x@dash.example.org`, `dash.example.org/` or
// `dash.example.org..` as dash.example.org — so a Host that is not a plain host name was a way round `host:` rules.
// Found attacking the proxy from outside. Now 400 before authentication (RFC 9112 §3.2), nothing forwarded.
import t from 'tap'
import { ALICE, raw, startTarget } from '../../helpers/hostile.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { basicToken, exchange } from '../../helpers/raw-client.ts'

const dir = tempDir()
t.teardown(() => { dir.remove() })
const rules = dir.file('rules.yaml', 'rules:\n  - host: dash.example.org\n    allow: { users: [root] }\n')
const htpasswd = dir.file('htpasswd', `${htpasswdLine('alice', 'pw', '-B', 4)}\n${htpasswdLine('root', 'rootpw', '-B', 4)}\n`)
const { up, proxy } = await startTarget(t, { AUTH_USERNAME: '', AUTH_PASSWORD: '', PUBLIC_PATHS: '', HTPASSWD_FILE: htpasswd, AUTHZ_RULES_FILE: rules })
t.beforeEach(() => { up.reset() })
const ROOT = `Basic ${basicToken('root', 'rootpw')}`

async function status (host: string, authorization?: string): Promise<number | undefined> {
  const res = await exchange(proxy.port, raw('GET /x HTTP/1.1', [`Host: ${host}`, ...(authorization !== undefined ? [`Authorization: ${authorization}`] : [])]), { responses: 1 })
  return res.statuses[0]
}

for (const host of ['x@dash.example.org', 'dash.example.org/', 'dash.example.org..', 'dash.example.org;', 'dash.example.org%2e', 'dash.example.org,x', 'dash.example.org\\', '.dash.example.org', 'dash..example.org', 'dash.example.org:', 'dash.example.org:80:80', '[::1', 'a b']) {
  t.test(`host confusion: Host "${host}" is no host name — 400 before authentication, nothing forwarded`, async (t) => {
    t.equal(await status(host), 400)
    t.equal(await status(host, ALICE), 400)
    t.equal(up.seen.length, 0)
  })
}

for (const host of ['dash.example.org', 'DASH.Example.org', 'dash.example.org.', 'dash.example.org:80']) {
  t.test(`host confusion: Host "${host}" is dash.example.org — alice 403, root through`, async (t) => {
    t.equal(await status(host, ALICE), 403)
    t.equal(up.seen.length, 0)
    t.equal(await status(host, ROOT), 200)
  })
}

for (const host of ['x', 'localhost:8081', '127.0.0.1', '[::1]:8081', 'my_app.apps.example.org', 'other.example.org.']) {
  t.test(`host confusion: an ordinary Host "${host}" is forwarded as sent`, async (t) => {
    t.equal(await status(host, ALICE), 200)
    t.same(up.seen.map((s) => s.headers.host), [host])
  })
}
