// Header spoofing and hop-by-hop abuse, against the real proxy process: every field the proxy manages, in every
// spelling a backend might fold together (oauth2-proxy GHSA-vjrc-mh2v-45x6: underscores; later Traefik CVEs: dots
// and case), named in Connection to strip the proxy's own (Traefik CVE-2024-45410, Go CVE-2021-33197), repeated
// Host (RFC 9112 §3.2), and the hop-by-hop fields nobody may pass on (RFC 9110 §7.6.1).
import t from 'tap'
import { ALICE, folded, raw, startTarget, valuesSeen } from '../../helpers/hostile.ts'
import { exchange } from '../../helpers/raw-client.ts'
import type { Seen } from '../../helpers/recording-upstream.ts'

const { up, proxy } = await startTarget(t)
t.beforeEach(() => { up.reset() })

const MANAGED = ['X-Forwarded-User', 'X-Forwarded-Groups', 'X-Forwarded-Email', 'X-Forwarded-Access-Token',
  'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Real-IP', 'Forwarded']

/** The spellings a CGI/WSGI/PHP backend reads as the same variable. */
function spellings (name: string): string[] {
  const lower = name.toLowerCase()
  return [name, lower, name.toUpperCase(), lower.replaceAll('-', '_'), name.replaceAll('-', '.'), lower.replaceAll('-', '~'),
    name.replace('-', '_').replace('-', '.'), lower.replace(/^x-/, 'X_')]
}

async function forwardedFor (requestLine: string, headers: string[]): Promise<Seen> {
  up.reset()
  const res = await exchange(proxy.port, raw(requestLine, ['Host: app.example', ...headers]), { responses: 1 })
  if (res.statuses[0] !== 200 || up.seen.length !== 1) throw new Error(`expected one forwarded 200, got ${res.statuses.join(',')} / ${up.seen.length}`)
  const seen = up.seen[0]
  if (seen === undefined) throw new Error('nothing seen')
  return seen
}

/** What the proxy sets for this request, folded name → value (absent: it sets nothing). */
const OWN: Record<string, string | undefined> = {
  'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.example',
  forwarded: 'for=127.0.0.1;proto=http;host="app.example"', 'x-forwarded-groups': undefined, 'x-forwarded-email': undefined,
  'x-forwarded-access-token': undefined
}

for (const [where, requestLine, auth, user] of [
  ['authenticated path', 'GET /priv HTTP/1.1', [`Authorization: ${ALICE}`], 'alice'],
  ['public path', 'GET /pub HTTP/1.1', [], undefined]
] as const) {
  for (const name of MANAGED) {
    t.test(`spoofing ${name} in every spelling on the ${where}: only the proxy's value reaches the app`, async (t) => {
      const forged = spellings(name).map((n) => `${n}: forged-${n}`)
      const seen = await forwardedFor(requestLine, [...auth, ...forged])
      const expected = folded(name) === 'x-forwarded-user' ? user : OWN[folded(name)]
      t.same(valuesSeen(seen, (n) => folded(n) === folded(name)), expected === undefined ? [] : [expected])
      t.notMatch(JSON.stringify(seen.rawHeaders), /forged-/)
    })
  }
}

t.test('hop-by-hop stripping attack: Connection naming the proxy\'s own fields strips nothing it sets (Traefik CVE-2024-45410)', async (t) => {
  const seen = await forwardedFor('GET /priv HTTP/1.1', [`Authorization: ${ALICE}`, `Connection: close, ${MANAGED.join(', ')}, Host, Content-Length`])
  t.equal(seen.headers['x-forwarded-user'], 'alice')
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen.headers.forwarded, 'for=127.0.0.1;proto=http;host="app.example"')
  t.equal(seen.headers.host, 'app.example', 'Host cannot be listed away')
})

t.test('hop-by-hop: an empty first Connection field does not hide the second (Go CVE-2021-33197)', async (t) => {
  const seen = await forwardedFor('GET /pub HTTP/1.1', ['Connection:', 'Connection: X-Secret', 'X-Secret: hop'])
  t.equal(seen.headers['x-secret'], undefined)
})

t.test('hop-by-hop: every hop-by-hop field the client sends stops at the proxy', async (t) => {
  const hop = ['Keep-Alive: timeout=99', 'TE: trailers', 'Trailer: X-A', 'Proxy-Connection: keep-alive', 'Proxy-Authorization: Basic eDp5',
    'Proxy-Authenticate: Basic', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Upgrade: h2c', 'Connection: X-Listed', 'X-Listed: v']
  const seen = await forwardedFor('GET /pub HTTP/1.1', hop)
  for (const name of ['keep-alive', 'te', 'trailer', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'upgrade', 'x-listed']) {
    t.equal(seen.headers[name], undefined, name)
  }
  t.equal(seen.headers.connection, 'keep-alive', 'the proxy\'s own connection to the app')
})

t.test('hop-by-hop in other spellings: Keep_Alive, Proxy.Authorization', async (t) => {
  const seen = await forwardedFor('GET /pub HTTP/1.1', ['Keep_Alive: x', 'Proxy.Authorization: Basic eDp5', 'transfer_encoding: chunked'])
  t.same(seen.rawHeaders.filter((_v, i) => i % 2 === 0).map(folded).filter((n) => ['keep-alive', 'proxy-authorization', 'transfer-encoding'].includes(n)), [])
})

t.test('duplicate Host: 400 and the connection closed (RFC 9112 §3.2), whichever copy an app would read', async (t) => {
  for (const hosts of [['Host: a.example', 'Host: b.example'], ['Host: a.example', 'host: a.example'], ['HOST: a', 'Host: b']]) {
    up.reset()
    const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', hosts))
    t.same(res.statuses, [400], hosts.join(' / '))
    t.ok(res.closed)
  }
  t.equal(up.seen.length, 0)
})

t.test('duplicate Authorization: Node keeps the first; the app sees no Authorization at all', async (t) => {
  const wrongFirst = await exchange(proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', 'Authorization: Basic YWxpY2U6bm9wZQ==', `Authorization: ${ALICE}`]), { responses: 1 })
  t.same(wrongFirst.statuses, [401], 'the first (wrong) one counts')
  const seen = await forwardedFor('GET /priv HTTP/1.1', [`Authorization: ${ALICE}`, 'Authorization: Basic YWRtaW46eA=='])
  t.equal(seen.headers['x-forwarded-user'], 'alice')
  t.equal(seen.headers.authorization, undefined)
  t.notMatch(up.raw(), /YWRtaW46eA==|YWxpY2U6cHc=/, 'neither credential reached the app')
})

t.test('Forwarded injection through Host: a quote or semicolon in Host adds no parameter — it is refused (400), nothing forwarded', async (t) => {
  for (const host of ['a";for=10.6.6.6', 'a;for=10.6.6.6', 'a,for=10.6.6.6']) {
    up.reset()
    const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', [`Host: ${host}`]), { responses: 1 })
    t.same(res.statuses, [400], host)
    t.equal(up.seen.length, 0, host)
  }
})

t.test('X-Forwarded-For from an untrusted peer is replaced, not extended', async (t) => {
  const seen = await forwardedFor('GET /pub HTTP/1.1', ['X-Forwarded-For: 203.0.113.7, 10.0.0.1', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example'])
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen.headers['x-forwarded-proto'], 'http')
  t.equal(seen.headers['x-forwarded-host'], 'app.example')
})
