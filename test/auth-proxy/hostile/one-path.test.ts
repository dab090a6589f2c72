// One path for every request: whatever route, method and upgrade spelling a request takes, what reaches the app
// has gone through the one header rewrite (proxy/headers.ts). Three angles: the real process driven through
// every combination; a property over any client headers (fast-check); and the code's shape, so no second
// forwarder can appear beside the one.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { HOP_BY_HOP, managedNames, upstreamRequestHeaders, type ForwardedRequest, type ForwardingOptions } from '../../../services/auth-proxy/src/proxy/headers.ts'
import { ALICE, folded, raw, startTarget, WS_HANDSHAKE } from '../../helpers/hostile.ts'
import { ROOT } from '../../helpers/process.ts'
import { exchange } from '../../helpers/raw-client.ts'
import type { Seen } from '../../helpers/recording-upstream.ts'

const OPTIONS: ForwardingOptions = { userHeader: 'X-Forwarded-User', groupsHeader: 'X-Forwarded-Groups', emailHeader: 'X-Forwarded-Email', forwardAuthorization: false }
const MANAGED = managedNames(OPTIONS)
const HOP = new Set(HOP_BY_HOP.map(folded))

const FORGED = ['X-Forwarded-User: mallory', 'x_forwarded_user: mallory', 'X.Forwarded.User: mallory', 'X-FORWARDED-GROUPS: admins',
  'X-Forwarded-Email: m@evil', 'X-Forwarded-Access-Token: t', 'X-Forwarded-For: 6.6.6.6', 'X_Real_IP: 6.6.6.6', 'Forwarded: for=6.6.6.6',
  'X-Forwarded-Host: evil', 'Keep-Alive: 1', 'TE: trailers', 'Proxy-Authorization: Basic eDp5', 'HTTP2-Settings: AAAA', 'X-Hop: 1']

const UPGRADES: Record<string, string[]> = {
  none: ['Connection: X-Hop'],
  websocket: [...WS_HANDSHAKE.map((h) => (h === 'Connection: Upgrade' ? 'Connection: Upgrade, X-Hop' : h))],
  nbsp: ['Upgrade: websocket', 'Connection: upgrade\u00a0, X-Hop', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'],
  h2c: ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings, X-Hop']
}
const FORWARDED = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY']
const METHODS = [...FORWARDED, 'TRACE', 'PROPFIND', 'CONNECT']

/** The app's view must hold nothing the proxy did not vouch for. */
function checkSeen (t: Test, seen: Seen, user: string | undefined, tunnel: boolean, what: string): void {
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = seen.rawHeaders[i] ?? ''
    const value = seen.rawHeaders[i + 1] ?? ''
    const f = folded(name)
    // The proxy's own Connection: undici's (it closes after HEAD, RFC 9110 §9.3.2 leaves a body possible).
    if (f === 'connection') { t.equal(value, tunnel ? 'upgrade' : seen.method === 'HEAD' ? 'close' : 'keep-alive', `${what}: the proxy's own Connection`); continue }
    if (f === 'upgrade') { t.ok(tunnel && value === 'websocket', `${what}: Upgrade only on a tunnel`); continue }
    t.notOk(HOP.has(f), `${what}: no hop-by-hop ${name}`)
    t.not(f, 'x-hop', `${what}: nothing the client's Connection listed`)
    t.not(f, 'authorization', `${what}: no Authorization`)
    if (f.startsWith('sec-websocket-')) t.ok(tunnel, `${what}: handshake fields only on a tunnel`)
    if (MANAGED.has(f)) {
      t.notMatch(value, /mallory|admins|evil|6\.6\.6\.6|^t$/, `${what}: ${name} is the proxy's`)
      if (f === 'x-forwarded-user') t.equal(value, user, `${what}: the authenticated user`)
    }
  }
  if (user === undefined) t.equal(seen.headers['x-forwarded-user'], undefined, `${what}: no user on a public path`)
}

const { up, proxy } = await startTarget(t)

for (const [route, auth, user] of [['/priv', true, 'alice'], ['/priv', false, undefined], ['/pub', false, undefined]] as const) {
  for (const method of METHODS) {
    t.test(`one path: ${method} ${route} ${auth ? 'authenticated' : 'anonymous'}, every upgrade spelling`, async (t) => {
      for (const [upgrade, fields] of Object.entries(UPGRADES)) {
        up.reset()
        const target = method === 'CONNECT' ? 'app.example:443' : route
        const body = ['POST', 'PUT', 'PATCH', 'QUERY'].includes(method) ? 'body' : ''
        const headers = ['Host: app.example', ...(auth ? [`Authorization: ${ALICE}`] : []), ...fields, ...FORGED, ...(body !== '' ? ['Content-Length: 4', 'Content-Type: text/plain'] : [])]
        const res = await exchange(proxy.port, raw(`${method} ${target} HTTP/1.1`, headers, body), { responses: 1 })
        const what = `${method} ${route} ${upgrade}`
        const tunnel = upgrade === 'websocket' && method === 'GET'
        const forwarded = FORWARDED.includes(method) && (auth || route === '/pub')
        // CONNECT is refused before anything else: its target is no path to authenticate for.
        const expected = !forwarded ? (auth || route === '/pub' || method === 'CONNECT' ? 405 : 401) : tunnel ? 101 : 200
        t.equal(res.statuses[0], expected, `${what}: status`)
        t.equal(up.seen.length, forwarded ? 1 : 0, `${what}: reached the app ${forwarded ? 'once' : 'never'}`)
        for (const seen of up.seen) checkSeen(t, seen, user, tunnel, what)
      }
    })
  }
}

// Names a client might send: the managed and hop-by-hop ones in any case and separator, and anything else.
const separators = fc.constantFrom('-', '_', '.', '~', '+')
const spelled = fc.tuple(fc.constantFrom(...[...MANAGED, ...HOP, 'authorization', 'sec-websocket-key', 'host', 'cookie']), separators, fc.boolean())
  .map(([name, sep, upper]) => { const n = name.replaceAll('-', sep); return upper ? n.toUpperCase() : n })
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/)
const fieldName = fc.oneof(spelled, token).map((n) => n.toLowerCase()) // Node lower-cases what it parses
const fieldValue = fc.stringMatching(/^[\x20-\x7e]{0,30}$/)

t.test('property: for any client headers, the app gets no managed field the proxy did not set, no hop-by-hop field, nothing Connection listed', async (t) => {
  fc.assert(fc.property(
    fc.dictionary(fieldName, fieldValue, { maxKeys: 25 }), fc.array(fieldName, { maxLength: 5 }), fc.boolean(), fc.option(fc.constantFrom('alice', 'Łukasz'), { nil: undefined }),
    (client, listed, upgrade, user) => {
      const headers = { ...client, ...(listed.length > 0 && { connection: listed.join(', ') }) }
      const request = {
        headers, clientAddress: '192.0.2.1', peerAddress: '192.0.2.1', fromTrustedProxy: false, protocol: 'http', host: 'app.example',
        identity: user === undefined ? null : { user, backend: 'static' }
      } as unknown as ForwardedRequest // the fields upstreamRequestHeaders reads, and no more
      const out = upstreamRequestHeaders(request, OPTIONS, upgrade)
      const own = new Set(['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', ...(user !== undefined ? ['x-forwarded-user'] : [])])
      for (const [name, value] of Object.entries(out)) {
        const f = folded(name) // the test's own folding, not the code's: an oracle must not share the bug
        if (MANAGED.has(f) && !(own.has(name) && name === f)) return false // a managed field not of the proxy's making
        if (own.has(name) && name === 'x-forwarded-user' && value !== Buffer.from(user ?? '', 'utf8').toString('latin1')) return false
        if (HOP.has(f)) return false
        if (name === 'authorization') return false
        if (!upgrade && name.startsWith('sec-websocket-')) return false
        if (listed.includes(name) && name !== 'host' && name !== 'content-length' && !own.has(name)) return false
      }
      return true
    }), { numRuns: 2_000 })
  t.pass('2000 random header sets')
})

/** Every .ts file under the proxy's source. */
function sources (dir: string): Array<[string, string]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): Array<[string, string]> => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith('.ts') ? [[path.slice(ROOT.length), readFileSync(path, 'utf8')]] : []
  })
}

t.test('shape: one dispatch to the app, with headers from upstreamRequestHeaders; no proxy library left', async (t) => {
  const files = sources(join(ROOT, 'services/auth-proxy/src'))
  const dispatchers = files.filter(([, code]) => /\.dispatch\(/.test(code)).map(([path]) => path)
  t.same(dispatchers, ['services/auth-proxy/src/proxy/forward.ts'], 'only forward.ts dispatches')
  const forward = files.find(([path]) => path.endsWith('proxy/forward.ts'))?.[1] ?? ''
  t.match(forward, /headers: upstreamRequestHeaders\(request, ctx\.forwarding, upgrade\)/, 'and its headers come from the one rewrite')
  // Any entry into undici counts: its index, or a module of it (upstream.ts imports the pool alone).
  const undici = files.filter(([, code]) => /^import (?!type )[^\n]*from 'undici(\/[^']*)?'/m.test(code) || /\bimport\(\s*'undici/.test(code)).map(([path]) => path)
  t.same(undici, ['services/auth-proxy/src/proxy/upstream.ts'], 'undici\'s clients (the connections to the app) are made in one place')
  const others = files.filter(([path, code]) => !path.endsWith('management.ts') && /\b(http|https)\.request\(|from 'node:https?'[^\n]*\brequest\b|\bnet\.connect\(|pool\.(request|stream|pipeline|upgrade)\(/.test(code))
  t.same(others.map(([path]) => path), [], 'no other client of any kind')
  // node:http reached as the built-in object (not through `import`): only for the server classes, never a client.
  const builtins = files.flatMap(([path, code]) => [...code.matchAll(/^.*getBuiltinModule\(.*$/gm)].map((m) => `${path}: ${m[0].trim()}`))
  t.same(builtins, ["services/auth-proxy/src/proxy/upgrade.ts: const { Server, ServerResponse } = process.getBuiltinModule('node:http')"],
    'getBuiltinModule once, for the server classes only')
  const clients = files.filter(([, code]) => /\b(https?|net|tls)\.(get|request|connect|createConnection)\(|\bnew (https?\.)?Agent\(/.test(code)).map(([path]) => path)
  t.same(clients.filter((p) => !p.endsWith('management.ts')), [], 'no http.get, tls.connect, net.createConnection or Agent either')
  const pkg = JSON.parse(readFileSync(join(ROOT, 'services/auth-proxy/package.json'), 'utf8')) as { dependencies: Record<string, string> }
  for (const lib of ['@fastify/http-proxy', '@fastify/reply-from', 'http-proxy', 'http-proxy-middleware', 'fast-proxy']) t.notOk(lib in pkg.dependencies, `no ${lib}`)
})
