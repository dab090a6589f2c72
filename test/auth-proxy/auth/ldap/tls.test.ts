// LDAP over TLS against the real slapd with a CA made by the test: ldaps:// and StartTLS, certificate
// verification on by default (an untrusted certificate is "unavailable", never a silent downgrade).
import t from 'tap'
import { basic, send } from '../../../helpers/http.ts'
import { startProxy, type RunningProxy } from '../../../helpers/proxy.ts'
import { slapdFixture, SUFFIX } from '../../../helpers/slapd.ts'
import { makeCa } from '../../../helpers/certs.ts'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

const fixture = slapdFixture(t)

async function start (env: Record<string, string>): Promise<RunningProxy> {
  const proxy = await startProxy({
    UPSTREAM_URL: fixture.upstream.url,
    LDAP_BIND_DN_TEMPLATE: `uid={user},ou=people,${SUFFIX}`,
    VERIFY_CACHE_SIZE: '0',
    LDAP_HEALTH_INTERVAL: '100ms',
    ...env
  })
  t.teardown(async () => { await proxy.close() })
  return proxy
}

async function status (proxy: RunningProxy, password = 'alice-pw'): Promise<number> {
  return (await send(`${proxy.url}/`, { headers: { authorization: basic('alice', password) } })).status
}

t.test('ldaps:// with LDAP_CA_FILE → logins work', async (t) => {
  const proxy = await start({ LDAP_URL: fixture.slapd.ldapsUrl, LDAP_CA_FILE: fixture.slapd.caFile })
  t.equal(await status(proxy), 200)
  t.equal(await status(proxy, 'wrong'), 401)
  t.equal(proxy.app.credentials.ready(), true)
})

t.test('ldaps:// by host name: the certificate is checked against the name (SNI), localhost is in its SANs', async (t) => {
  const proxy = await start({ LDAP_URL: fixture.slapd.ldapsUrl.replace('127.0.0.1', 'localhost'), LDAP_CA_FILE: fixture.slapd.caFile })
  t.equal(await status(proxy), 200)
})

t.test('ldaps:// with a CA that did not sign the certificate → 503 and not ready, the reason logged', async (t) => {
  const other = join(fixture.slapd.dir.path, 'other-ca')
  mkdirSync(other)
  const proxy = await start({ LDAP_URL: fixture.slapd.ldapsUrl, LDAP_CA_FILE: makeCa(other) })
  t.equal(await status(proxy), 503)
  t.equal(proxy.app.credentials.ready(), false)
  t.match(proxy.app.credentials.status(), { lastError: /certificate/i })
  t.ok(proxy.logs.some((l) => l.msg === 'LDAP directory unavailable' && /certificate/i.test(String(l.reason))))
})

t.test('ldaps:// without LDAP_CA_FILE: the system CAs do not vouch for a private CA → 503', async (t) => {
  const proxy = await start({ LDAP_URL: fixture.slapd.ldapsUrl })
  t.equal(await status(proxy), 503)
})

t.test('StartTLS with LDAP_CA_FILE → logins work, and again after the server restarts (upgraded afresh)', async (t) => {
  const proxy = await start({ LDAP_URL: fixture.slapd.url, LDAP_STARTTLS: 'true', LDAP_CA_FILE: fixture.slapd.caFile })
  t.equal(await status(proxy), 200)
  await fixture.slapd.stop()
  await fixture.slapd.start()
  let after = 0
  for (let i = 0; i < 40 && after !== 200; i++) {
    after = await status(proxy)
    if (after !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(after, 200)
})

t.test('StartTLS with an untrusted certificate → 503: no fallback to plain LDAP', async (t) => {
  const other = join(fixture.slapd.dir.path, 'other-ca-2')
  mkdirSync(other)
  const proxy = await start({ LDAP_URL: fixture.slapd.url, LDAP_STARTTLS: 'true', LDAP_CA_FILE: makeCa(other) })
  t.equal(await status(proxy), 503)
  t.match(proxy.app.credentials.status(), { lastError: /certificate/i })
})

t.test('an unreadable LDAP_CA_FILE stops the start-up, naming the variable', async (t) => {
  await t.rejects(startProxy({ UPSTREAM_URL: fixture.upstream.url, LDAP_URL: fixture.slapd.ldapsUrl, LDAP_BIND_DN_TEMPLATE: `uid={user},${SUFFIX}`, LDAP_CA_FILE: '/nonexistent/ca.crt' }),
    { code: 'AUTH_PROXY_ERR_CREDENTIALS_LOAD', message: /LDAP_CA_FILE: cannot read \/nonexistent\/ca\.crt/ })
})
