// LDAP logins through the real proxy against a real slapd: search-then-bind and direct bind, groups upstream,
// the group gate, and every injection attempt a user name can carry.
import t, { type Test } from 'tap'
import { basic, send, type Response } from '../../../helpers/http.ts'
import { requestLines, startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { DIRECTORY, SERVICE_DN, SERVICE_PASSWORD, slapdFixture, SUFFIX } from '../../../helpers/slapd.ts'
import type { Received } from '../../../helpers/upstream.ts'

// Users whose names are made of the characters injection uses: they log in only if escaping is exact.
const ODD_USERS = `dn: uid=star*,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: star*
cn: Star
sn: Literal
userPassword: star-pw

dn: uid=starlight,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: starlight
cn: Starlight
sn: Other
userPassword: star-pw

dn: uid=o\\2Cbrien+cn=OB,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: o,brien
cn: OB
sn: Comma
userPassword: comma-pw
`

const fixture = slapdFixture(t, DIRECTORY + '\n' + ODD_USERS)
const proxies: RunningProxy[] = []
t.teardown(async () => { for (const p of proxies) await p.close() })

const SEARCH = (): Record<string, string> => ({
  LDAP_URL: fixture.slapd.url,
  LDAP_BIND_DN: SERVICE_DN,
  LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
  LDAP_SEARCH_BASE: `ou=people,${SUFFIX}`,
  LDAP_GROUP_SEARCH_BASE: `ou=groups,${SUFFIX}`
})
const DIRECT = (): Record<string, string> => ({ LDAP_URL: fixture.slapd.url, LDAP_BIND_DN_TEMPLATE: `uid={user},ou=people,${SUFFIX}` })

async function proxyWith (env: Record<string, string>): Promise<RunningProxy> {
  // No throttle and no cache here: every request is a fresh question to the directory.
  const proxy = await startProxy({ UPSTREAM_URL: fixture.upstream.url, AUTH_FAILURE_LIMIT: '0', VERIFY_CACHE_SIZE: '0', ...env })
  proxies.push(proxy)
  return proxy
}

async function login (proxy: RunningProxy, user: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return await send(`${proxy.url}/`, { headers: { authorization: basic(user, password), ...headers } })
}

function seen (res: Response): Received['headers'] {
  return (JSON.parse(res.body) as Received).headers
}

async function refused (t: Test, proxy: RunningProxy, user: string, password: string, what: string): Promise<void> {
  const before = fixture.upstream.received.length
  const res = await login(proxy, user, password)
  t.equal(res.status, 401, `${what}: 401`)
  t.equal(fixture.upstream.received.length, before, `${what}: nothing reached the app`)
}

t.test('search-then-bind: the right password → 200 with user and groups upstream; forged copies stripped', async (t) => {
  const proxy = await proxyWith(SEARCH())
  const res = await login(proxy, 'alice', 'alice-pw', { 'x-forwarded-user': 'root', 'x-forwarded-groups': 'admins', x_forwarded_groups: 'wheel' })
  t.equal(res.status, 200)
  t.equal(seen(res)['x-forwarded-user'], 'alice')
  t.equal(seen(res)['x-forwarded-groups'], 'admins,researchers', 'groups from the directory, names sorted')
  t.notOk(seen(res).x_forwarded_groups, 'the underscore spelling is stripped too')

  const bob = await login(proxy, 'bob', 'bob-pw', { 'x-forwarded-groups': 'admins' })
  t.equal(seen(bob)['x-forwarded-groups'], 'researchers', 'the client cannot add a group')
  const carol = await login(proxy, 'carol', 'carol-pw', { 'x-forwarded-groups': 'admins' })
  t.equal(carol.status, 200)
  t.notOk(seen(carol)['x-forwarded-groups'], 'no groups: no header, and the forged one is gone')
})

t.test('unauthenticated-bind bypass: an empty password is refused even by a directory that accepts it; wrong password and unknown user → 401', async (t) => {
  const proxy = await proxyWith(SEARCH())
  await refused(t, proxy, 'alice', 'wrong', 'wrong password')
  await refused(t, proxy, 'alice', 'Alice-pw', 'password case matters')
  await refused(t, proxy, 'nobody', 'alice-pw', 'unknown user')
  await refused(t, proxy, 'alice', '', 'empty password (unauthenticated bind)')
  await refused(t, proxy, '', 'alice-pw', 'empty user')
  t.match(requestLines(proxy).map((l) => l.auth), ['invalid', 'invalid', 'invalid', 'invalid', 'invalid'])
})

t.test('filter injection (RFC 4515): wildcards and parentheses never widen the search', async (t) => {
  const proxy = await proxyWith(SEARCH())
  for (const user of ['*', 'ali*', '*lice', 'a*e', 'alice)(uid=*', '*)(uid=*', 'alice)(|(uid=*', 'x)(objectClass=*', 'alice\\', 'alice\0']) {
    await refused(t, proxy, user, 'alice-pw', `user ${JSON.stringify(user)}`)
  }
  // A user literally called star* exists next to starlight (same password): escaping finds exactly one entry.
  const star = await login(proxy, 'star*', 'star-pw')
  t.equal(star.status, 200, 'the literal star* user logs in')
  t.equal(seen(star)['x-forwarded-user'], 'star*')
  t.notOk(requestLines(proxy).some((l) => l.status === 500 || l.status === 503), 'no input made the proxy fail')
})

t.test('a filter with an AND around {user}: "alice)(uid=*" cannot close it early', async (t) => {
  const proxy = await proxyWith({ ...SEARCH(), LDAP_SEARCH_FILTER: '(&(objectClass=inetOrgPerson)(uid={user}))' })
  t.equal((await login(proxy, 'alice', 'alice-pw')).status, 200)
  await refused(t, proxy, 'alice)(uid=*', 'alice-pw', 'closing the assertion early')
  await refused(t, proxy, 'x)(|(uid=alice)', 'alice-pw', 'injecting an OR')
})

t.test('direct bind: DN injection (RFC 4514) — commas, plus and equals stay inside the value', async (t) => {
  const proxy = await proxyWith(DIRECT())
  t.equal((await login(proxy, 'alice', 'alice-pw')).status, 200)
  for (const user of ['alice,ou=people', `alice,ou=people,${SUFFIX}`, 'a,ou=x', 'alice+cn=Alice', 'uid=alice', 'alice\\', '#alice', 'cn=admin', '*']) {
    await refused(t, proxy, user, 'alice-pw', `user ${JSON.stringify(user)}`)
  }
  t.notOk(requestLines(proxy).some((l) => l.status === 500 || l.status === 503), 'no input made the proxy fail')
  // Leading/trailing spaces are insignificant to the directory's own matching (RFC 4518 §2.6.1): " alice" is
  // alice. That is the directory's rule, not an injection; the app still sees one spelling, alice's.
  const spaced = await login(proxy, ' alice ', 'alice-pw')
  t.equal(seen(spaced)['x-forwarded-user'], 'alice')
})

t.test('direct bind: a uid with a comma logs in only through exact DN escaping', async (t) => {
  const proxy = await proxyWith({ ...DIRECT(), LDAP_BIND_DN_TEMPLATE: `uid={user}+cn=OB,ou=people,${SUFFIX}` })
  const res = await login(proxy, 'o,brien', 'comma-pw')
  t.equal(res.status, 200)
  t.equal(seen(res)['x-forwarded-user'], 'o,brien')
})

t.test('direct bind: groups from memberOf, and the directory\'s spelling of the name goes upstream', async (t) => {
  const proxy = await proxyWith(DIRECT())
  const res = await login(proxy, 'ALICE', 'alice-pw')
  t.equal(res.status, 200, 'LDAP matches uid case-insensitively')
  t.equal(seen(res)['x-forwarded-user'], 'alice', 'the app sees one spelling per user')
  t.equal(seen(res)['x-forwarded-groups'], 'admins,researchers')
  await refused(t, proxy, 'alice', 'wrong', 'wrong password')
  await refused(t, proxy, 'ghost', 'alice-pw', 'no such entry')
  await refused(t, proxy, 'alice', '', 'empty password')
})

t.test('LDAP_REQUIRED_GROUPS: members in; a valid user outside → the same 401 as a wrong password, logged as denied', async (t) => {
  const proxy = await proxyWith({ ...SEARCH(), LDAP_REQUIRED_GROUPS: `cn=researchers,ou=groups,${SUFFIX}` })
  t.equal((await login(proxy, 'alice', 'alice-pw')).status, 200)
  t.equal((await login(proxy, 'bob', 'bob-pw')).status, 200)
  const outsider = await login(proxy, 'carol', 'carol-pw')
  const wrong = await login(proxy, 'carol', 'not-her-password')
  t.equal(outsider.status, 401)
  t.equal(outsider.headers['www-authenticate'], wrong.headers['www-authenticate'], 'same challenge')
  const withoutId = (body: string): string => body.replace(/request [0-9a-z]+/, 'request ID')
  t.equal(withoutId(outsider.body), withoutId(wrong.body), 'same body but for the request id: the password is not confirmed')
  t.match(requestLines(proxy).slice(-2).map((l) => l.auth), ['denied', 'invalid'])
})

t.test('LDAP_REQUIRED_GROUPS: any of several; DN spelling differences do not matter; uniqueMember counts', async (t) => {
  const proxy = await proxyWith({ ...DIRECT(), LDAP_REQUIRED_GROUPS: `CN=Admins, OU=groups, ${SUFFIX.toUpperCase()};cn=legacy,ou=groups,${SUFFIX}` })
  t.equal((await login(proxy, 'alice', 'alice-pw')).status, 200, 'admins via memberOf, spelt differently')
  t.equal((await login(proxy, 'dave', 'dave-pw')).status, 200, 'legacy lists dave as uniqueMember')
  await refused(t, proxy, 'bob', 'bob-pw', 'bob is only a researcher')
})

t.test('search-then-bind without a service account (anonymous search) and the verify cache in front', async (t) => {
  const anonymous = SEARCH()
  delete anonymous.LDAP_BIND_DN
  delete anonymous.LDAP_BIND_PASSWORD
  const proxy = await proxyWith({ ...anonymous, VERIFY_CACHE_SIZE: '100' })
  for (let i = 0; i < 20; i++) t.equal((await login(proxy, 'alice', 'alice-pw')).status, 200)
  const cache = proxy.app.credentials as unknown as { misses: number, hits: number }
  t.equal(cache.misses, 1, 'one directory round trip for 20 requests')
  t.equal(cache.hits, 19)
})

t.test('the failure throttle applies to LDAP logins too', async (t) => {
  const proxy = await proxyWith({ ...SEARCH(), AUTH_FAILURE_LIMIT: '3' })
  for (let i = 0; i < 3; i++) t.equal((await login(proxy, 'alice', `guess-${i}`)).status, 401)
  const blocked = await login(proxy, 'alice', 'alice-pw')
  t.equal(blocked.status, 429, 'blocked before the directory is asked')
})

t.test('no password, bind password or Authorization in any log line, even at trace level', async (t) => {
  const proxy = await proxyWith({ ...SEARCH(), LOG_LEVEL: 'trace', LDAP_REQUIRED_GROUPS: `cn=admins,ou=groups,${SUFFIX}` })
  await login(proxy, 'alice', 'alice-pw')
  await login(proxy, 'bob', 'bob-pw')
  await login(proxy, 'alice', 'wrong-secret-guess')
  const text = proxy.rawLogs.join('')
  for (const secret of ['alice-pw', 'bob-pw', 'wrong-secret-guess', SERVICE_PASSWORD, basic('alice', 'alice-pw').slice(6)]) {
    t.notOk(text.includes(secret), `"${secret}" not logged`)
  }
})

t.test('concurrent logins share a few connections: 40 at once, right and wrong passwords, all answered correctly', async (t) => {
  const proxy = await proxyWith(SEARCH())
  const attempts = Array.from({ length: 40 }, (_, i) => {
    const user = ['alice', 'bob', 'carol', 'dave'][i % 4] ?? 'alice'
    const right = i % 3 !== 0
    return { user, right, password: right ? `${user}-pw` : 'wrong' }
  })
  const results = await Promise.all(attempts.map(async (a) => (await login(proxy, a.user, a.password)).status))
  t.same(results, attempts.map((a) => (a.right ? 200 : 401)))
})
