// Every method's groups reach the rules: LDAP group membership (slapd), OpenID Connect group claims (bearer tokens
// from a real provider), and htpasswd users' HTPASSWD_GROUPS_FILE (authz.test.ts) — one rule, /admin for admins.
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { startProvider, CLIENT_ID, CLIENT_SECRET } from '../../helpers/oidc-provider.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { SERVICE_DN, SERVICE_PASSWORD, slapdFixture, SUFFIX } from '../../helpers/slapd.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import type { Received } from '../../helpers/upstream.ts'

const fixture = slapdFixture(t)
const dir = tempDir()
t.teardown(() => { dir.remove() })
const rules = dir.file('rules.yaml', 'rules:\n  - prefix: /admin\n    allow: { groups: [admins] }\n')

t.test('LDAP: the directory\'s groups decide (alice is in admins, bob is not)', async (t) => {
  const proxy = await startProxy({
    UPSTREAM_URL: fixture.upstream.url, AUTHZ_RULES_FILE: rules, LDAP_URL: fixture.slapd.url, LDAP_BIND_DN: SERVICE_DN,
    LDAP_BIND_PASSWORD: SERVICE_PASSWORD, LDAP_SEARCH_BASE: `ou=people,${SUFFIX}`, LDAP_GROUP_SEARCH_BASE: `ou=groups,${SUFFIX}`
  })
  t.teardown(async () => { await proxy.close() })
  const alice = await send(`${proxy.url}/admin`, { headers: { authorization: basic('alice', 'alice-pw') } })
  t.equal(alice.status, 200)
  t.match((JSON.parse(alice.body) as Received).headers['x-forwarded-groups'], /admins/)
  t.equal((await send(`${proxy.url}/admin`, { headers: { authorization: basic('bob', 'bob-pw') } })).status, 403)
  t.equal((await send(`${proxy.url}/other`, { headers: { authorization: basic('bob', 'bob-pw') } })).status, 200)
})

t.test('OpenID Connect: the group claim decides, for bearer tokens as for sessions', async (t) => {
  const provider = await startProvider({ redirectUris: ['http://127.0.0.1:1/_auth/callback'], postLogoutRedirectUris: [] })
  t.teardown(async () => { await provider.close() })
  const proxy = await startProxy({
    UPSTREAM_URL: fixture.upstream.url, AUTHZ_RULES_FILE: rules, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_SECRET: 'groups-test-session-secret-0123456789abcdef'
  })
  t.teardown(async () => { await proxy.close() })
  const bearer = async (groups: string[]): Promise<number> => (await send(`${proxy.url}/admin`, { headers: { authorization: `Bearer ${await provider.mint({ groups })}`, accept: 'application/json' } })).status
  t.equal(await bearer(['admins']), 200)
  t.equal(await bearer(['researchers']), 403)
  t.equal(await bearer([]), 403)
})

t.test('htpasswd without a groups file: no groups, so a groups rule refuses', async (t) => {
  const proxy = await startProxy({ UPSTREAM_URL: fixture.upstream.url, AUTHZ_RULES_FILE: rules, HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('admins', 'pw', '-B', 4)) })
  t.teardown(async () => { await proxy.close() })
  t.equal((await send(`${proxy.url}/admin`, { headers: { authorization: basic('admins', 'pw') } })).status, 403, 'a user named like the group is not in it')
})
