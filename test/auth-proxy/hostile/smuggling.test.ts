// Request smuggling and framing, against the real proxy process, after Node's own tests
// (test-http-transfer-encoding-smuggling, test-http-missing-header-separator-*, test-http-chunk-extensions-limit)
// and the CVEs they pin (Node CVE-2022-32213/32214/32215, CVE-2023-30589, CVE-2024-27982, CVE-2024-22019;
// HAProxy CVE-2019-18277, CVE-2023-25725, CVE-2023-40225, CVE-2021-39241). Each case carries a second request,
// GET /smuggled, hidden where one parser or another might find it: whatever the proxy answers, the app must never
// see it as a request, and an ambiguous message must be refused, not guessed at.
import t from 'tap'
import { ALICE, raw, startTarget } from '../../helpers/hostile.ts'
import { exchange } from '../../helpers/raw-client.ts'

const { up, proxy } = await startTarget(t)
// A request the proxy forwarded just before the parser refused what followed it may still reach the app after its
// test ended: let it land before the next test starts counting.
t.beforeEach(async () => { await new Promise((resolve) => setTimeout(resolve, 100)); up.reset() })

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Forwarded-User: admin\r\n\r\n'
const CHUNKED_SMUGGLE = `0\r\n\r\n${SMUGGLED}`

/** Cases Node's parser must refuse outright: 400 (or the 4xx named), connection closed, nothing forwarded. */
const REFUSED: Array<[string, string, number?]> = [
  ['cl-te: Content-Length and Transfer-Encoding together', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 6', 'Transfer-Encoding: chunked'], CHUNKED_SMUGGLE)],
  ['te-cl: chunked first, then a Content-Length', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 4'], CHUNKED_SMUGGLE)],
  ['te-not-last: chunked, identity (RFC 9112 §6.3)', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked, identity'], CHUNKED_SMUGGLE)],
  ['te-unknown-coding: xchunked', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: xchunked'], CHUNKED_SMUGGLE)],
  ['te-duplicate: chunked then identity in two fields', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], CHUNKED_SMUGGLE)],
  ['te-space-before-colon', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding : chunked'], CHUNKED_SMUGGLE)],
  ['te-vertical-tab (HAProxy CVE-2019-18277)', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding:\x0bchunked'], CHUNKED_SMUGGLE)],
  ['te-obs-fold (CVE-2022-32215)', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: identity', ' chunked'], CHUNKED_SMUGGLE)],
  ['cl-obs-fold (CVE-2024-27982)', raw('POST /pub HTTP/1.1', ['Host: x', 'X-Pad: a', ' Content-Length: 49'], SMUGGLED)],
  ['cl-duplicate-different', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 0', 'Content-Length: 49'], SMUGGLED)],
  ['cl-list: 0, 49', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 0, 49'], SMUGGLED)],
  ['cl-plus-sign', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: +49'], SMUGGLED)],
  ['cl-negative', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: -1'], SMUGGLED)],
  ['cl-empty (HAProxy CVE-2023-40225)', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length:'], SMUGGLED)],
  ['cl-hex', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length: 0x31'], SMUGGLED)],
  ['bare-cr-in-value (CVE-2023-30589)', raw('POST /pub HTTP/1.1', ['Host: x', 'X-A: a\rContent-Length: 49'], SMUGGLED)],
  ['bare-lf-in-header-block (CVE-2022-32214)', 'POST /pub HTTP/1.1\r\nHost: x\nContent-Length: 49\r\n\r\n' + SMUGGLED],
  ['missing-header-separator (test-http-missing-header-separator-cr)', raw('POST /pub HTTP/1.1', ['Host: x', 'Content-Length 49'], SMUGGLED)],
  ['empty-header-name (HAProxy CVE-2023-25725)', raw('POST /pub HTTP/1.1', ['Host: x', ': x', 'Content-Length: 49'], SMUGGLED)],
  ['nul-in-header-value', raw('GET /pub HTTP/1.1', ['Host: x', 'X-A: a\x00b'])],
  ['space-in-header-name', raw('GET /pub HTTP/1.1', ['Host: x', 'X A: b'])],
  ['request-line-injection: space in the target (HAProxy CVE-2021-39241)', raw('GET /pub HTTP/1.1 /smuggled HTTP/1.1', ['Host: x'])],
  ['request-line-lf-only', 'GET /pub HTTP/1.1\nHost: x\n\n'],
  ['unknown-http-version', raw('GET /pub HTTP/1.2', ['Host: x'])],
  ['missing-host on HTTP/1.1 (RFC 9112 §3.2)', raw('GET /pub HTTP/1.1', [])],
  ['chunk-size-overflow', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked'], `ffffffffffffffffff1\r\nx\r\n${CHUNKED_SMUGGLE}`)],
  ['chunk-size-garbage', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked'], `5x\r\nhello\r\n${CHUNKED_SMUGGLE}`)],
  ['chunk-data-without-crlf', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked'], `3\r\nabcdef\r\n${CHUNKED_SMUGGLE}`)],
  ['chunk-extension-overflow (CVE-2024-22019): 413', raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked'], `1;${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`), 413],
  ['headers-too-large: 431', raw('GET /pub HTTP/1.1', ['Host: x', `X-Big: ${'a'.repeat(20_000)}`]), 431]
]

for (const [name, bytes, status] of REFUSED) {
  t.test(`smuggling ${name}: refused, connection closed, nothing smuggled`, async (t) => {
    const res = await exchange(proxy.port, bytes, { idleMs: 600 })
    t.equal(res.statuses[0], status ?? 400, 'the first (only) answer')
    t.ok(res.statuses.length <= 1, `one answer at most (${res.statuses.join(',')})`)
    t.ok(res.closed, 'the connection is closed')
    t.notMatch(up.raw(), /smuggled/, 'the hidden request never reached the app')
    t.notMatch(res.text, /at [\w.]+ \(|node:internal/, 'no stack trace')
  })
}

t.test('smuggling chunked-trailer: a trailer naming X-Forwarded-User never reaches the app', async (t) => {
  const res = await exchange(proxy.port, raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked', 'Trailer: X-Forwarded-User'], '5\r\nhello\r\n0\r\nX-Forwarded-User: admin\r\n\r\n'), { responses: 1 })
  t.same(res.statuses, [200])
  t.equal(up.seen[0]?.body, 'hello')
  t.notMatch(up.raw(), /admin/, 'neither as a header nor as a trailer')
})

t.test('smuggling http-0.9-style request line: answered once as HTTP/1.0, what follows it refused, the connection closed', async (t) => {
  const res = await exchange(proxy.port, `GET /pub\r\n\r\n${SMUGGLED}`)
  t.same(res.statuses, [200], 'the GET\'s own answer; no second status line for what the parser refused')
  t.ok(res.closed)
  t.notMatch(up.raw(), /smuggled/)
})

t.test('smuggling get-with-body: a request inside a GET\'s body stays body', async (t) => {
  const res = await exchange(proxy.port, raw('GET /pub HTTP/1.1', ['Host: x', `Content-Length: ${SMUGGLED.length}`], SMUGGLED) + raw('GET /pub HTTP/1.1', ['Host: x']), { responses: 2 })
  t.same(res.statuses, [200, 200])
  t.same(up.seen.map((s) => s.url), ['/pub', '/pub'], 'two requests, neither /smuggled')
  t.same(up.seen.map((s) => s.body).sort(), ['', SMUGGLED], 'the first one\'s body is the hidden request, as bytes')
})

t.test('smuggling chunked-body: a request inside a chunk stays body, and the body is re-framed for the app', async (t) => {
  const chunk = SMUGGLED
  const res = await exchange(proxy.port, raw('POST /pub HTTP/1.1', ['Host: x', 'Transfer-Encoding: chunked'], `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`), { responses: 1 })
  t.same(res.statuses, [200])
  t.same(up.seen.map((s) => s.url), ['/pub'])
  t.equal(up.seen[0]?.body, SMUGGLED)
})

t.test('smuggling pipelined: each pipelined request is authenticated and rewritten on its own', async (t) => {
  const res = await exchange(proxy.port,
    raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`, 'X-Forwarded-User: admin']) +
    raw('GET /priv2 HTTP/1.1', ['Host: x', 'X-Forwarded-User: admin']) +
    raw('GET /pub HTTP/1.1', ['Host: x', 'X-Forwarded-User: admin']), { responses: 3 })
  t.same(res.statuses, [200, 401, 200])
  // Pipelined requests are forwarded concurrently, on connections of their own: the app may see them in any order.
  t.same(up.seen.map((s) => [s.url, s.headers['x-forwarded-user']]).sort(), [['/priv', 'alice'], ['/pub', undefined]])
})

t.test('smuggling expect-continue: no 100 before authentication, and the body is not read for a 401', async (t) => {
  const res = await exchange(proxy.port, raw('POST /priv HTTP/1.1', ['Host: x', 'Expect: 100-continue', 'Content-Length: 49']), { responses: 1 })
  t.same(res.statuses, [401], 'no 100 Continue first')
  t.equal(up.seen.length, 0)
})

t.test('smuggling http/1.0 keep-alive: a Content-Length-framed body on HTTP/1.0 is not a second request', async (t) => {
  const res = await exchange(proxy.port, raw('POST /pub HTTP/1.0', ['Host: x', 'Connection: keep-alive', `Content-Length: ${SMUGGLED.length}`], SMUGGLED), { responses: 1 })
  t.same(res.statuses, [200])
  t.same(up.seen.map((s) => s.url), ['/pub'])
})

t.test('smuggling absolute-form: GET http://evil/ is refused, never proxied elsewhere (reply-from CVE-2021-21321)', async (t) => {
  for (const target of ['http://evil.example/pub', 'https://evil.example/', '*', 'evil.example:80']) {
    const res = await exchange(proxy.port, raw(`GET ${target} HTTP/1.1`, ['Host: x', `Authorization: ${ALICE}`]), { responses: 1 })
    t.same(res.statuses, [400], target)
  }
  t.equal(up.seen.length, 0)
})

t.test('smuggling network-path target: //evil.example/pub is a path, forwarded verbatim to the app and only there (fast-proxy#42)', async (t) => {
  const res = await exchange(proxy.port, raw('GET //evil.example/pub HTTP/1.1', ['Host: x', `Authorization: ${ALICE}`]), { responses: 1 })
  t.same(res.statuses, [200])
  t.same(up.seen.map((s) => s.url), ['//evil.example/pub'])
  const anonymous = await exchange(proxy.port, raw('GET //pub HTTP/1.1', ['Host: x']), { responses: 1 })
  t.same(anonymous.statuses, [401], '//pub is not the public /pub')
})
