// oauth2-proxy's and Authelia's own open-redirect corpus (test/fixtures/redirect-vectors.json, 628 return
// paths): after a login the browser must land on this site, whatever `rd` said — checked for every vector against
// the return-path functions, with AUTH_RETURN_DOMAINS too (a URL off the list never survives), and for a sample
// through a real login at a real provider.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { safeReturnPath, safeReturnTarget } from '../../../../services/auth-proxy/src/auth/oidc/return-path.ts'
import { CookieJar, oidcLogin } from '../../../helpers/browserless.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET } from '../../../helpers/oidc-provider.ts'
import { ROOT } from '../../../helpers/process.ts'
import { startProxy } from '../../../helpers/proxy.ts'
import { freePort, startUpstream } from '../../../helpers/upstream.ts'

interface Vector { readonly rd: string, readonly source: string, readonly expect: 'same-origin' | 'kept' }
const VECTORS = JSON.parse(readFileSync(`${ROOT}test/fixtures/redirect-vectors.json`, 'utf8')) as Vector[]
const SITE = 'https://app.example.org'

/** Where a browser at SITE goes with this Location, by the WHATWG URL parser a browser uses. */
function landsOn (location: string): string {
  return new URL(location, `${SITE}/callback`).origin
}

t.test(`all ${VECTORS.length} vectors: the return path stays on this site; the ones the corpus keeps are kept`, async (t) => {
  let kept = 0
  for (const v of VECTORS) {
    const result = safeReturnPath(v.rd)
    // eslint-disable-next-line no-control-regex -- what a browser drops before reading a URL is the point
    if (landsOn(result) !== SITE || /^\/[/\\]/.test(result.replace(/[\x00-\x20]/g, ''))) t.fail(`${JSON.stringify(v.rd)} (${v.source}) → ${result}`)
    if (v.expect === 'kept') { t.equal(result, v.rd, `kept: ${v.rd}`); kept++ }
  }
  t.equal(kept, VECTORS.filter((v) => v.expect === 'kept').length)
})

t.test('with AUTH_RETURN_DOMAINS: a vector leads only to this site or a listed host — never elsewhere', async (t) => {
  const domains = ['other.example.org', '.apps.example.org']
  const allowed = (host: string): boolean => host === 'other.example.org' || host.endsWith('.apps.example.org')
  for (const v of VECTORS) {
    const result = safeReturnTarget(v.rd, domains)
    const url = new URL(result, `${SITE}/callback`)
    if (url.origin !== SITE && !allowed(url.hostname)) t.fail(`${JSON.stringify(v.rd)} (${v.source}) → ${result}`)
    if (url.username !== '' || url.password !== '') t.fail(`userinfo survived: ${v.rd}`)
  }
  t.equal(safeReturnTarget('https://other.example.org/a?b=1', domains), 'https://other.example.org/a?b=1')
  t.equal(safeReturnTarget('https://x.apps.example.org/nb', domains), 'https://x.apps.example.org/nb')
  for (const evil of ['https://apps.example.org/', 'https://evilapps.example.org/', 'https://other.example.org.evil.com/', 'https://other.example.org@evil.com/',
    'https://evil.com\\@other.example.org/', 'https://other.example.org/%2F%2Fevil.com', 'https://other.example.org//evil.com', 'javascript://other.example.org/%0aalert(1)',
    'https://OTHER.example.org:443/x#frag', 'https://other.example.org\t/x']) {
    t.ok(['/', 'https://other.example.org/x'].includes(safeReturnTarget(evil, domains)) || landsOn(safeReturnTarget(evil, domains)) === SITE, `${evil} → ${safeReturnTarget(evil, domains)}`)
  }
  t.equal(safeReturnTarget('https://other.example.org/x', []), '/', 'without the setting, no absolute URL at all')
})

t.test('a sample of the corpus through a real login: /_auth/login?rd=… → provider → back on this site', async (t) => {
  const port = await freePort()
  const provider = await startProvider({ redirectUris: [`http://127.0.0.1:${port}/_auth/callback`], postLogoutRedirectUris: [] })
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'redirect-corpus-session-secret-0123456789ab', AUTH_FAILURE_LIMIT: '0'
  }, port)
  t.teardown(async () => { await proxy.close(); await provider.close(); await upstream.close() })
  const sample = VECTORS.filter((_, i) => i % 20 === 0)
  for (const v of sample) {
    const jar = new CookieJar()
    const { hops } = await oidcLogin(jar, `${proxy.url}/_auth/login?rd=${encodeURIComponent(v.rd)}`, 'alice', USERS.alice?.password ?? '')
    const fromCallback = hops.find((h) => h.url.includes('/_auth/callback'))?.location ?? ''
    t.equal(new URL(fromCallback, proxy.url).origin, proxy.url, `${JSON.stringify(v.rd)} → ${fromCallback}`)
  }
  t.ok(sample.length >= 30, `${sample.length} logins`)
})
