// Path confusion, against the real proxy process: a path the proxy lets through as public (PUBLIC_PATHS=/pub) or
// authorises must be the path the app serves. Envoy CVE-2021-29492 (%2F..%2F), Traefik CVE-2025-47952 (%2e%2e),
// find-my-way/middie `;` handling (fastify#2487), Authelia CVE-2021-32637 (a malformed URI answered 200),
// oauth2-proxy GHSA-pxq7-h93f-9jrg (fragments) and GHSA-7rh7-c77v-6434 (rules matched against the query).
import t from 'tap'
import { ALICE, raw, startTarget } from '../../helpers/hostile.ts'
import { exchange } from '../../helpers/raw-client.ts'

const { up, proxy } = await startTarget(t)
t.beforeEach(() => { up.reset() })

async function status (target: string, auth: boolean): Promise<number | undefined> {
  const res = await exchange(proxy.port, raw(`GET ${target} HTTP/1.1`, ['Host: x', ...(auth ? [`Authorization: ${ALICE}`] : [])]), { responses: 1 })
  return res.statuses[0]
}

/** Refused with 400 before authentication, with or without credentials. */
const REFUSED = [
  '/pub/../priv', '/pub/%2e%2e/priv', '/pub/%2E%2e/priv', '/pub/.%2e/priv', '/pub%2f..%2fpriv', '/pub%2F%2e%2e%2Fpriv',
  '/pub/..', '/pub/.', '/./priv', '/pub\\..\\priv', '/pub%5c..%5cpriv', '/pub%00', '/pub%00.html', '/pub%', '/pub%zz',
  '/pub%2', '/pub#', '/pub#/../priv', '/priv#x', '/pub/%2e%2e%2fpriv', '/pub;/../priv',
  '/pub%c0%ae%c0%ae/priv' // overlong UTF-8 dots: not UTF-8 at all, refused by Fastify's router
]

for (const target of REFUSED) {
  t.test(`path-confusion ${target}: 400 before authentication, never forwarded`, async (t) => {
    t.equal(await status(target, false), 400, 'anonymous')
    t.equal(await status(target, true), 400, 'authenticated')
    t.equal(up.seen.length, 0)
  })
}

/** Not the public path in the raw bytes, so they must authenticate; with credentials they reach the app verbatim. */
const NOT_PUBLIC = ['/pub/', '//pub', '/PUB', '/Pub', '/pub;', '/pub;x=1', '/%70ub', '/pu%62', '/pub%20', '/pub%09',
  '/pub.', '/pub..', '/pub%2f', '/pub/x', '/pubx', '/pub%252e%252e/priv', '/%EF%BD%90%EF%BD%95%EF%BD%82', '/pub%E3%80%82']

for (const target of NOT_PUBLIC) {
  t.test(`path-confusion ${target}: not /pub — 401 without credentials, verbatim to the app with them`, async (t) => {
    t.equal(await status(target, false), 401, 'anonymous')
    t.equal(up.seen.length, 0, 'nothing forwarded anonymously')
    t.equal(await status(target, true), 200, 'authenticated')
    t.same(up.seen.map((s) => s.url), [target], 'the app gets exactly the bytes the proxy decided on')
  })
}

t.test('path-confusion query and public path: /pub?x and /pub?../priv are /pub; the query never widens a match', async (t) => {
  for (const target of ['/pub?x=1', '/pub?/../priv', '/pub?%2e%2e', '/pub?a#']) {
    up.reset()
    const expected = target.includes('#') ? 400 : 200
    t.equal(await status(target, false), expected, target)
    if (expected === 200) t.same(up.seen.map((s) => s.url), [target])
  }
  t.equal(await status('/priv?/pub', false), 401, 'a public path in the query makes nothing public')
})

t.test('path-confusion non-ASCII bytes in the target: refused by the parser or forwarded verbatim, never decoded', async (t) => {
  const res = await exchange(proxy.port, Buffer.concat([Buffer.from('GET /p\xc3\xbcb HTTP/1.1\r\nHost: x\r\n', 'latin1'), Buffer.from(`Authorization: ${ALICE}\r\n\r\n`)]), { responses: 1 })
  t.ok(res.statuses[0] === 400 || (res.statuses[0] === 200 && up.seen[0]?.url === '/p\xc3\xbcb'), `status ${res.statuses.join(',')}, app saw ${up.seen[0]?.url ?? 'nothing'}`)
})
