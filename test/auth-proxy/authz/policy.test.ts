// Applying the rules: first match wins; prefix boundaries, methods (HEAD as GET), hosts; and path confusion — a
// rule holds for every reading of the path an app might make, and a public rule opens no more than it names.
import fc from 'fast-check'
import t from 'tap'
import { Policy, readings } from '../../../services/auth-proxy/src/authz/policy.ts'
import { readRuleSet, type RuleSet } from '../../../services/auth-proxy/src/authz/rules.ts'

const alice = { user: 'alice', backend: 'htpasswd', groups: ['lab'] }
const root = { user: 'root', backend: 'htpasswd', groups: ['admins'] }

function policy (doc: unknown, publicPaths: Array<{ path: string, method?: string }> = []): Policy {
  const set: RuleSet = readRuleSet(doc)
  return new Policy(publicPaths, () => set)
}
const ask = (p: Policy, path: string, method = 'GET', host = 'app.example.org'): ReturnType<Policy['evaluate']> => p.evaluate({ method, host, path })

t.test('prefix boundaries: /admin covers /admin and /admin/…, never /administrator', async (t) => {
  const p = policy({ rules: [{ prefix: '/admin', allow: { groups: ['admins'] } }] })
  for (const path of ['/admin', '/admin/', '/admin/users', '/admin/a/b']) t.equal(ask(p, path).label, 'rules[0]', path)
  for (const path of ['/administrator', '/admins', '/adminx/y', '/', '/x/admin']) t.equal(ask(p, path).label, 'default', path)
  const exact = policy({ rules: [{ path: '/admin', allow: 'public' }] })
  t.ok(ask(exact, '/admin').public)
  t.notOk(ask(exact, '/admin/x').public, 'path: exact only')
  t.equal(ask(policy({ rules: [{ prefix: '/', allow: 'public' }] }), '/anything/at/all').public, true, 'prefix / is everything')
})

t.test('first match wins; no match → default', async (t) => {
  const p = policy({ rules: [{ prefix: '/a/b', allow: 'public' }, { prefix: '/a', allow: { users: ['alice'] } }], default: 'deny' })
  t.equal(ask(p, '/a/b/c').label, 'rules[0]')
  t.equal(ask(p, '/a/c').label, 'rules[1]')
  t.ok(p.allows(ask(p, '/a/c'), alice))
  t.notOk(p.allows(ask(p, '/a/c'), root))
  t.notOk(p.allows(ask(p, '/z'), alice), 'default deny')
})

t.test('methods: listed ones only, HEAD counted as GET, preflights (OPTIONS) their own', async (t) => {
  const p = policy({ rules: [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'], allow: { groups: ['admins'] } }, { methods: ['GET'], prefix: '/pub', allow: 'public' }] })
  t.equal(ask(p, '/x', 'POST').label, 'rules[0]')
  t.equal(ask(p, '/x', 'GET').label, 'default')
  t.ok(ask(p, '/pub/a', 'HEAD').public, 'HEAD as GET')
  t.notOk(ask(p, '/pub/a', 'OPTIONS').public, 'OPTIONS is not GET')
})

t.test('hosts: exact, *.domain for subdomains only, case-insensitive, any host when absent', async (t) => {
  const p = policy({ rules: [{ host: 'dash.example.org', allow: 'public' }, { host: '*.apps.example.org', allow: { groups: ['admins'] } }] })
  t.ok(ask(p, '/', 'GET', 'dash.example.org').public)
  t.notOk(ask(p, '/', 'GET', 'evil-dash.example.org').public)
  t.equal(ask(p, '/', 'GET', 'x.apps.example.org').label, 'rules[1]')
  t.equal(ask(p, '/', 'GET', 'a.b.apps.example.org').label, 'rules[1]')
  t.equal(ask(p, '/', 'GET', 'apps.example.org').label, 'default', '*.apps.example.org is not apps.example.org itself')
  t.equal(ask(p, '/', 'GET', 'xapps.example.org').label, 'default')
})

t.test('readings: as sent; decoded, ;params dropped, slashes merged; lower-cased', async (t) => {
  t.same(readings('/admin'), ['/admin', '/admin', '/admin'])
  t.same(readings('/%61dmin//x;jsessionid=1/'), ['/%61dmin//x;jsessionid=1/', '/admin/x', '/admin/x'])
  t.same(readings('/Admin'), ['/Admin', '/Admin', '/admin'])
})

t.test('regression: rule paths with a trailing slash or capitals held only for the path as sent', async (t) => {
  const p = policy({ rules: [{ path: '/settings/', deny: 'all' }, { prefix: '/Reports', deny: 'all' }, { path: '/Admin', allow: { groups: ['admins'] } }] })
  for (const path of ['/settings/', '/%73ettings/', '/settings', '/SETTINGS/']) t.notOk(p.allows(ask(p, path), root), `${path}: the /settings/ rule`)
  for (const path of ['/Reports/q1', '/reports/q1', '/REPORTS', '/%52eports/x']) t.notOk(p.allows(ask(p, path), root), `${path}: the /Reports rule`)
  for (const path of ['/Admin', '/admin', '/ADMIN', '/admin/']) t.notOk(p.allows(ask(p, path), alice), `${path}: the /Admin rule`)
})

t.test('path confusion: a restricting rule holds for every spelling the app may read as its path', async (t) => {
  const p = policy({ rules: [{ prefix: '/admin', allow: { groups: ['admins'] } }] })
  const spellings = ['/%61dmin', '/%41DMIN/x', '//admin', '/admin;x=1', '/admin;/users', '/ADMIN', '/Admin/', '/admin%2Fusers', '/a%64min', '//ADMIN//x', '/%2561dmin'.replace('%25', '%')]
  for (const path of spellings) {
    const d = ask(p, path)
    t.notOk(p.allows(d, alice), `${path}: alice is not an admin (${d.label})`)
    t.ok(p.allows(d, root), `${path}: root is`)
  }
})

t.test('path confusion: a public rule opens only what it names, as sent', async (t) => {
  const p = policy({ rules: [{ prefix: '/static', allow: 'public' }] }, [{ path: '/healthz' }])
  t.ok(ask(p, '/static/app.js').public)
  t.ok(ask(p, '/healthz').public)
  for (const path of ['/STATIC/app.js', '/%73tatic/app.js', '//static/app.js', '/static;x/app.js', '/HEALTHZ', '/%68ealthz', '/healthz/', '/healthz;x', '/statics']) {
    t.notOk(ask(p, path).public, `${path} must log in (${ask(p, path).label})`)
  }
})

// What an app might make of a raw path: decode, drop ;params, merge slashes, and maybe ignore case.
function appReading (path: string, caseInsensitive: boolean): string {
  let out = path
  try { out = decodeURIComponent(out) } catch { /* kept */ }
  out = out.split('/').map((s) => s.replace(/;.*$/s, '')).join('/').replace(/\/{2,}/g, '/')
  return caseInsensitive ? out.toLowerCase() : out
}
const segment = fc.constantFrom('admin', 'ADMIN', 'Admin', '%61dmin', 'adm%69n', 'admin;x', 'static', 'STATIC', 'x', 'users', '', 'administrator', 'a%2Fb')
const pathArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`)

t.test('property: whatever the spelling, a path the app reads as under /admin never lets a non-admin through', async () => {
  const p = policy({ rules: [{ prefix: '/admin', allow: { groups: ['admins'] } }, { prefix: '/static', allow: 'public' }] })
  fc.assert(fc.property(pathArb, fc.boolean(), (path, ci) => {
    const app = appReading(path, ci)
    const underAdmin = app === '/admin' || app.startsWith('/admin/') || app === '/admin/'
    if (!underAdmin) return true
    const d = ask(p, path)
    return !d.public && !p.allows(d, alice)
  }), { numRuns: 3_000 })
})

t.test('property: a path is public only if, as sent, it is under the public prefix', async () => {
  const p = policy({ rules: [{ prefix: '/static', allow: 'public' }] })
  fc.assert(fc.property(pathArb, (path) => {
    const asSent = path === '/static' || path.startsWith('/static/')
    return !ask(p, path).public || asSent
  }), { numRuns: 3_000 })
})
