// Reading the request an ingress describes: each ingress's headers, only from TRUST_PROXY peers, two descriptions
// that disagree refused, the raw path kept (never resolved by a URL parser) and put through the request guard.
import fc from 'fast-check'
import type { FastifyRequest } from 'fastify'
import t from 'tap'
import { describeForwarded } from '../../../services/auth-proxy/src/forward-auth/described.ts'

/** A check request as Fastify gives it: parsed headers (Node joins repeats with ", ") and the raw list. */
function req (headers: Record<string, string | string[]>, trusted = true): FastifyRequest {
  const all: Record<string, string | string[]> = { host: 'auth.svc:8081', ...headers }
  const rawHeaders = Object.entries(all).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).flatMap((x) => [k, x]))
  const parsed = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]))
  return { fromTrustedProxy: trusted, headers: parsed, raw: { rawHeaders }, method: 'GET', protocol: 'http' } as unknown as FastifyRequest
}
const H = { 'x-forwarded-host': 'app.example.org' }
const code = (f: () => unknown): string | undefined => { try { f(); return undefined } catch (err) { return (err as { code?: string }).code } }

t.test('Traefik and Caddy: X-Forwarded-Method, -Proto, -Host, -Uri', async (t) => {
  t.same(describeForwarded(req({ 'x-forwarded-method': 'POST', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'App.Example.org:8443', 'x-forwarded-uri': '/a/b?x=1' })),
    { method: 'POST', host: 'app.example.org', path: '/a/b', proto: 'https', uri: '/a/b?x=1' })
})

t.test('ingress-nginx: X-Original-URL (absolute) and X-Original-Method; nginx: X-Original-URI', async (t) => {
  t.match(describeForwarded(req({ 'x-original-url': 'https://app.example.org/nb/tree?token=x', 'x-original-method': 'GET' })), { method: 'GET', host: 'app.example.org', path: '/nb/tree', proto: 'https', uri: '/nb/tree?token=x' })
  t.match(describeForwarded(req({ 'x-original-uri': '/x', 'x-forwarded-host': 'h.example.org:8443' })), { host: 'h.example.org', path: '/x', method: 'GET' })
  t.match(describeForwarded(req({ 'x-original-uri': '/x', 'x-forwarded-host': 'Admin.Example.org.' })), { host: 'admin.example.org' }, 'one trailing dot is the same host (DNS), as nginx routes it')
  t.match(describeForwarded(req({ 'x-original-url': 'https://app.example.org' })), { path: '/' }, 'an origin alone is its root')
})

t.test('fail closed: an untrusted peer, no description, two that disagree, a repeated header, a bad host or method', async (t) => {
  t.equal(code(() => describeForwarded(req({ 'x-forwarded-uri': '/pub', ...H }, false))), 'AUTH_PROXY_ERR_CHECK_UNTRUSTED')
  for (const headers of [
    {},
    { 'x-original-uri': '/a' },
    { 'x-forwarded-uri': ['/pub/x', '/admin/secret'], ...H },
    { 'x-forwarded-uri': '/pub/x\t/admin', ...H },
    { 'x-forwarded-uri': '/pub/x /admin', ...H },
    { 'x-forwarded-host': ['app.example.org', 'app.example.org'], 'x-original-uri': '/a' },
    { 'x-forwarded-uri': '/pub', 'x-original-url': 'https://h/admin' },
    { 'x-forwarded-uri': '/pub', 'x-original-uri': '/admin' },
    { 'x-original-uri': '/a', 'x-forwarded-method': 'GET', 'x-original-method': 'POST', ...H },
    { 'x-original-uri': '/a', 'x-forwarded-host': 'a.example.org', 'x-original-url': 'https://b.example.org/a' },
    { 'x-original-uri': ['/a', '/b'], ...H },
    { 'x-original-uri': '/a', 'x-forwarded-host': 'a.example.org, b.example.org' },
    { 'x-original-uri': '/a', 'x-forwarded-host': 'a b' },
    { 'x-original-uri': '/a', 'x-forwarded-method': 'G E T', ...H },
    { 'x-original-uri': '/a', 'x-forwarded-proto': 'gopher', ...H }
  ]) t.equal(code(() => describeForwarded(req(headers))), 'AUTH_PROXY_ERR_CHECK_REQUEST', JSON.stringify(headers))
})

t.test('the path meets the request guard, raw: dot-segments (even inside an absolute URL), backslashes, bad escapes, fragments', async (t) => {
  for (const uri of ['/pub/../admin', '/pub/%2e%2e/admin', '/pub/..;/admin', '/a\\b', '/a%zz', '/a#frag', 'relative', '*', '/%61dmin/%ff', '/%73ecret/x%e2%82', '/x%c0%af']) {
    t.equal(code(() => describeForwarded(req({ 'x-forwarded-uri': uri, ...H }))), 'AUTH_PROXY_ERR_CHECK_REQUEST', uri)
  }
  t.equal(code(() => describeForwarded(req({ 'x-original-url': 'https://h.example.org/pub/../admin' }))), 'AUTH_PROXY_ERR_CHECK_REQUEST', 'not resolved to /admin by a URL parser and let through')
  t.match(describeForwarded(req({ 'x-forwarded-uri': '/%61dmin;x', ...H })), { path: '/%61dmin;x' }, 'kept as sent: the rules read every spelling')
})

t.test('property: whatever headers a peer sends, a description is either refused or names one origin-form path', async () => {
  const header = fc.constantFrom('x-forwarded-uri', 'x-original-uri', 'x-original-url', 'x-forwarded-method', 'x-original-method', 'x-forwarded-host', 'x-forwarded-proto')
  const value = fc.oneof(fc.constantFrom('/a', '/pub', 'https://h/a', 'GET', 'post', 'h.example.org', 'https', '/a/../b', ''), fc.string())
  fc.assert(fc.property(fc.dictionary(header, value), (headers) => {
    let d
    try { d = describeForwarded(req(headers)) } catch { return true }
    return d.path.startsWith('/') && !d.path.includes('?') && /^[A-Z]+$/.test(d.method)
  }), { numRuns: 2_000 })
})
