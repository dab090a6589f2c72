// The browser error pages as text: every user-supplied part escaped (a user name from a token may hold markup or
// control characters), the CSP's hash the hash of the page's one style, a reload only where waiting helps.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { ERROR_PAGE_CSP, errorPage, escapeHtml } from '../../services/auth-proxy/src/error-pages.ts'

const FORBIDDEN = { statusCode: 403, code: 'AUTH_PROXY_ERR_FORBIDDEN', message: 'Forbidden', requestId: 'abc' }

t.test('the signed-in user is escaped: markup and control characters never reach the page as such', async (t) => {
  const page = errorPage({ ...FORBIDDEN, user: '<script>alert(1)</script>\r\nSet-Cookie: x=1\u0000"\'&' })
  t.notMatch(page, /<script>/)
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  t.notMatch(page, /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no control character in the page')
  t.match(page, /&#60;script&#62;alert\(1\)&#60;\/script&#62;\ufffd\ufffdSet-Cookie: x=1\ufffd&#34;&#39;&#38;/)
})

t.test('property: escapeHtml leaves no markup character and no control character, whatever the input', async () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
    const out = escapeHtml(s)
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    return !/[<>"'\u0000-\u001f\u007f-\u009f]/.test(out) && !/&(?!#\d+;)/.test(out)
  }))
})

t.test('the CSP allows exactly the page\'s own style, by hash, and no script', async (t) => {
  const page = errorPage(FORBIDDEN)
  const style = /<style>(.*?)<\/style>/.exec(page)?.[1] ?? ''
  t.ok(ERROR_PAGE_CSP.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`))
  t.match(ERROR_PAGE_CSP, /default-src 'none'/)
  t.notMatch(page, /<script|src=|href="http/i, 'self-contained')
})

t.test('a reload only where waiting helps: the app starting or down, the sign-in service unreachable', async (t) => {
  const reloads = (code: string, retryAfterSeconds?: number): string | undefined =>
    /<meta http-equiv="refresh" content="(\d+)">/.exec(errorPage({ statusCode: 503, code, message: 'm', requestId: 'r', ...(retryAfterSeconds !== undefined && { retryAfterSeconds }) }))?.[1]
  t.equal(reloads('AUTH_PROXY_ERR_UPSTREAM_STARTING', 2), '2', 'after Retry-After')
  t.equal(reloads('AUTH_PROXY_ERR_BACKEND_UNAVAILABLE', 5), '5')
  t.equal(reloads('AUTH_PROXY_ERR_BAD_GATEWAY'), '10')
  t.equal(reloads('AUTH_PROXY_ERR_TOO_MANY_FAILURES', 30), undefined, 'not a sign-in that is paused')
  t.equal(reloads('AUTH_PROXY_ERR_FORBIDDEN'), undefined)
})

t.test('the request id is on every page, for support', async (t) => {
  for (const code of ['AUTH_PROXY_ERR_UPSTREAM_STARTING', 'AUTH_PROXY_ERR_FORBIDDEN', 'AUTH_PROXY_ERR_SOMETHING_ELSE']) {
    t.match(errorPage({ statusCode: 500, code, message: 'Something', requestId: 'req-42' }), /request req-42/)
  }
})
