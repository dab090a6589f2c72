// AUTHZ_RULES_FILE's contents: what a rule may say, and every mistake reported at once, naming the rule and field.
import t from 'tap'
import { permits, readRuleSet } from '../../../services/auth-proxy/src/authz/rules.ts'

const alice = { user: 'alice', backend: 'htpasswd', groups: ['lab'] }
const bob = { user: 'bob', backend: 'ldap', groups: ['admins', 'lab'] }

t.test('the forms of a rule: public, authenticated, users and groups; deny all or some', async (t) => {
  const set = readRuleSet({
    default: 'deny',
    rules: [
      { prefix: '/static/', allow: 'public' },
      { path: '/notebooks', methods: ['get', 'POST'], allow: { users: 'alice' } },
      { host: ['Dash.Example.org', '*.apps.example.org'], prefix: '/admin', allow: { groups: ['admins'] } },
      { prefix: '/', methods: 'DELETE', deny: 'all' },
      { prefix: '/lab', deny: { users: ['mallory'], groups: 'guests' } },
      { allow: 'authenticated' }
    ]
  })
  t.equal(set.fallback.access.kind, 'deny-all', 'default: deny')
  t.same(set.rules.map((r) => r.label), ['rules[0]', 'rules[1]', 'rules[2]', 'rules[3]', 'rules[4]', 'rules[5]'])
  t.equal(set.rules[0]?.prefix, '/static', 'a trailing slash on a prefix adds nothing')
  t.same([...(set.rules[1]?.methods ?? [])], ['GET', 'POST'], 'methods in upper case')
  t.same(set.rules[2]?.hosts, ['dash.example.org', '*.apps.example.org'], 'hosts in lower case')
  const [, notebooks, admin, deleteAll, lab] = set.rules.map((r) => r.access)
  t.ok(notebooks !== undefined && permits(notebooks, alice) && !permits(notebooks, bob), 'users')
  t.ok(admin !== undefined && permits(admin, bob) && !permits(admin, alice), 'groups')
  t.ok(deleteAll !== undefined && !permits(deleteAll, bob), 'deny all')
  t.ok(lab !== undefined && permits(lab, alice) && !permits(lab, { user: 'mallory', backend: 'x' }) && !permits(lab, { user: 'eve', backend: 'x', groups: ['guests'] }), 'deny some, allow the rest')
  t.equal(readRuleSet({ rules: [] }).fallback.access.kind, 'authenticated', 'the default default: anyone who logs in (the proxy without rules)')
})

t.test('every mistake in a file at once, each naming the rule and the field', async (t) => {
  const bad = {
    default: 'maybe',
    extra: 1,
    rules: [
      { prefix: '/a/../b', allow: 'public' },
      { path: '/a', prefix: '/a', allow: 'public' },
      { path: '/x%2Fy', allow: 'everyone' },
      { prefix: '/ok', allow: 'public', deny: 'all' },
      { prefix: '/ok', methods: ['GET', 'get it'], allow: { users: [] } },
      { host: 'https://x.org', allow: { user: ['a'] } },
      'not a rule',
      { prefix: '/ok', alow: 'public' },
      { prefix: '/x', deny: { users: 'alice, bob' } }
    ]
  }
  let message = ''
  try { readRuleSet(bad) } catch (err) { message = (err as Error).message }
  for (const expected of [
    'default: must be authenticated or deny', 'extra: is not a field',
    'rules[0].prefix: "/a/../b" must be a plain absolute path', 'rules[1]: has both path and prefix',
    'rules[2].path: "/x%2Fy" must be a plain', 'rules[2].allow: must be public, authenticated',
    'rules[3]: needs exactly one of allow or deny', 'rules[4].methods: "GET IT" is not a method',
    'rules[4].allow.users: must be a name or a non-empty list', 'rules[5].host: "https://x.org" is not a host name',
    'rules[5].allow.user: is not a field', 'rules[6]: must be a mapping', 'rules[7].alow: is not a field', 'rules[7]: needs exactly one of allow or deny',
    'rules[8].deny.users: "alice, bob" holds a comma: write a list, [alice, bob]'
  ]) t.ok(message.includes(expected), expected)
  t.throws(() => readRuleSet([1, 2]), /must be a mapping with `rules:`/)
  t.throws(() => readRuleSet(null), /must be a mapping/)
  t.throws(() => readRuleSet({ rules: 'all' }), /rules: must be a list/)
})
