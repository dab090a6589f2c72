// The LDAP settings: each rule names its variable, all problems together, sensible defaults.
import t from 'tap'
import { loadConfig } from '../../../../services/auth-proxy/src/config.ts'
import { isCleartextRemote } from '../../../../services/auth-proxy/src/auth/ldap/config.ts'
import { DEFAULTS } from '../../../../services/auth-proxy/src/config.ts'
import { problemsOf } from '../../../helpers/config.ts'

const DIRECT = { LDAP_URL: 'ldaps://ldap.example.org', LDAP_BIND_DN_TEMPLATE: 'uid={user},ou=people,dc=example,dc=org' }
const SEARCH = { LDAP_URL: 'ldaps://ldap.example.org', LDAP_SEARCH_BASE: 'ou=people,dc=example,dc=org', LDAP_BIND_DN: 'cn=proxy,dc=example,dc=org', LDAP_BIND_PASSWORD: 's3cret' }


t.test('LDAP alone is a credential source; defaults', async (t) => {
  const c = loadConfig(DIRECT)
  t.same(c.auth.backends, ['ldap'])
  t.match(c.auth.ldap, {
    urls: ['ldaps://ldap.example.org'],
    startTls: false,
    searchFilter: DEFAULTS.LDAP_SEARCH_FILTER,
    userAttribute: 'uid',
    requiredGroups: [],
    connectTimeoutMs: DEFAULTS.LDAP_CONNECT_TIMEOUT,
    timeoutMs: DEFAULTS.LDAP_TIMEOUT
  })
  t.equal(c.auth.groupsHeader, 'X-Forwarded-Groups')
  t.ok(Object.isFrozen(c.auth.ldap?.urls))
})

t.test('LDAP_URL: several for failover (comma or space separated), ldap:// or ldaps:// origins only', async (t) => {
  t.same(loadConfig({ ...DIRECT, LDAP_URL: 'ldaps://a.example.org, ldaps://b.example.org:1636 ldap://c' }).auth.ldap?.urls,
    ['ldaps://a.example.org', 'ldaps://b.example.org:1636', 'ldap://c'])
  t.match(problemsOf({ ...DIRECT, LDAP_URL: 'http://ldap.example.org' }), /LDAP_URL: "http:\/\/ldap.example.org" must use ldap:\/\/ or ldaps:\/\//)
  t.match(problemsOf({ ...DIRECT, LDAP_URL: 'ldap://ldap.example.org/dc=example,dc=org??sub' }), /LDAP_URL: .* must be scheme, host and optional port only/)
  t.match(problemsOf({ ...DIRECT, LDAP_URL: 'ldap://user:pw@ldap.example.org' }), /LDAP_URL: .* must be scheme, host and optional port only/)
  t.match(problemsOf({ ...DIRECT, LDAP_URL: 'not a url' }), /LDAP_URL: "not" is not a URL/)
})

t.test('LDAP settings without LDAP_URL are reported, not ignored', async (t) => {
  const problems = problemsOf({ HTPASSWD_FILE: '/h', LDAP_BIND_DN_TEMPLATE: 'uid={user},dc=x', LDAP_STARTTLS: 'true' })
  t.match(problems, /LDAP_STARTTLS: is set but LDAP_URL is not/)
  t.match(problems, /LDAP_BIND_DN_TEMPLATE: is set but LDAP_URL is not/)
})

t.test('direct bind or search-then-bind: exactly one', async (t) => {
  t.match(problemsOf({ LDAP_URL: 'ldaps://l' }), /LDAP_BIND_DN_TEMPLATE: or LDAP_SEARCH_BASE must be set/)
  t.match(problemsOf({ ...DIRECT, LDAP_SEARCH_BASE: 'dc=x' }), /LDAP_SEARCH_BASE: cannot be combined with LDAP_BIND_DN_TEMPLATE/)
  t.match(problemsOf({ ...DIRECT, LDAP_BIND_DN_TEMPLATE: 'uid=alice,dc=x' }), /LDAP_BIND_DN_TEMPLATE: must contain \{user\}/)
  t.match(problemsOf({ ...DIRECT, LDAP_BIND_DN_TEMPLATE: 'uid{user}' }), /LDAP_BIND_DN_TEMPLATE: "uid\{user\}" is not a valid distinguished name/)
  t.ok(loadConfig(SEARCH).auth.ldap?.searchBase)
})

t.test('service account: DN and password (or file) together', async (t) => {
  t.match(problemsOf({ ...SEARCH, LDAP_BIND_PASSWORD: '' }), /LDAP_BIND_DN: is set but neither LDAP_BIND_PASSWORD nor LDAP_BIND_PASSWORD_FILE is/)
  t.match(problemsOf({ ...DIRECT, LDAP_BIND_PASSWORD: 'x' }), /LDAP_BIND_PASSWORD: is set but LDAP_BIND_DN is not/)
  const withFile = loadConfig({ ...SEARCH, LDAP_BIND_PASSWORD_FILE: '/run/secrets/bind' }).auth.ldap
  t.equal(withFile?.bindPasswordFile, '/run/secrets/bind', 'the file wins')
  t.equal(withFile?.bindPassword, undefined)
  t.match(problemsOf({ ...SEARCH, LDAP_BIND_DN: 'proxy' }), /LDAP_BIND_DN: "proxy" is not a valid distinguished name/)
})

t.test('LDAP_SEARCH_FILTER must be a filter with {user}', async (t) => {
  t.equal(loadConfig({ ...SEARCH, LDAP_SEARCH_FILTER: '(&(objectClass=person)(sAMAccountName={user}))' }).auth.ldap?.searchFilter, '(&(objectClass=person)(sAMAccountName={user}))')
  t.match(problemsOf({ ...SEARCH, LDAP_SEARCH_FILTER: '(uid=alice)' }), /LDAP_SEARCH_FILTER: must contain \{user\}/)
  t.match(problemsOf({ ...SEARCH, LDAP_SEARCH_FILTER: '(uid={user}' }), /LDAP_SEARCH_FILTER: "\(uid=\{user\}" is not a valid LDAP filter/)
})

t.test('LDAP_STARTTLS with ldaps:// is refused; LDAP_USER_ATTRIBUTE must be an attribute name', async (t) => {
  t.match(problemsOf({ ...DIRECT, LDAP_STARTTLS: 'true' }), /LDAP_STARTTLS: cannot be combined with ldaps:\/\//)
  t.equal(loadConfig({ ...DIRECT, LDAP_URL: 'ldap://l', LDAP_STARTTLS: 'yes' }).auth.ldap?.startTls, true)
  t.match(problemsOf({ ...DIRECT, LDAP_USER_ATTRIBUTE: 'uid)(x' }), /LDAP_USER_ATTRIBUTE: must be an attribute name/)
})

t.test('LDAP_REQUIRED_GROUPS: DNs separated by ";" (DNs contain commas), escaped ";" kept', async (t) => {
  t.same(loadConfig({ ...DIRECT, LDAP_REQUIRED_GROUPS: 'cn=a,ou=groups,dc=x; cn=b\\;c,ou=groups,dc=x' }).auth.ldap?.requiredGroups,
    ['cn=a,ou=groups,dc=x', 'cn=b\\;c,ou=groups,dc=x'])
  t.match(problemsOf({ ...DIRECT, LDAP_REQUIRED_GROUPS: 'admins' }), /LDAP_REQUIRED_GROUPS: "admins" is not a valid distinguished name .*separate DNs with ";"/)
})

t.test('AUTH_BACKENDS: order, unknown names, unconfigured and left-out backends', async (t) => {
  const both = { ...DIRECT, HTPASSWD_FILE: '/h' }
  t.same(loadConfig(both).auth.backends, ['htpasswd', 'ldap'], 'default: configured ones, htpasswd first')
  t.same(loadConfig({ ...both, AUTH_BACKENDS: 'ldap, htpasswd' }).auth.backends, ['ldap', 'htpasswd'])
  t.match(problemsOf({ ...both, AUTH_BACKENDS: 'ldap,kerberos' }), /AUTH_BACKENDS: "kerberos" is not a backend; choose from htpasswd, static, ldap/)
  t.match(problemsOf({ ...DIRECT, AUTH_BACKENDS: 'ldap,htpasswd' }), /AUTH_BACKENDS: lists "htpasswd", which is not configured \(HTPASSWD_FILE\)/)
  t.match(problemsOf({ ...both, AUTH_BACKENDS: 'ldap' }), /HTPASSWD_FILE: is set but "htpasswd" is not in AUTH_BACKENDS/)
  t.match(problemsOf({ ...both, AUTH_BACKENDS: 'ldap,ldap,htpasswd' }), /AUTH_BACKENDS: lists "ldap" twice/)
})

t.test('GROUPS_HEADER: a header name the proxy may own, not USER_HEADER', async (t) => {
  t.equal(loadConfig({ ...DIRECT, GROUPS_HEADER: 'X-Remote-Groups' }).auth.groupsHeader, 'X-Remote-Groups')
  t.match(problemsOf({ ...DIRECT, GROUPS_HEADER: 'Cookie' }), /GROUPS_HEADER: must not be a header the proxy or HTTP itself controls/)
  t.match(problemsOf({ ...DIRECT, GROUPS_HEADER: 'x-forwarded-user' }), /GROUPS_HEADER: must differ from USER_HEADER/)
  t.match(problemsOf({ ...DIRECT, GROUPS_HEADER: 'X Groups' }), /GROUPS_HEADER: must be a valid HTTP header name/)
})

t.test('every LDAP problem at once', async (t) => {
  const problems = problemsOf({ LDAP_URL: 'http://x', LDAP_SEARCH_BASE: 'nodn', LDAP_SEARCH_FILTER: 'uid', LDAP_TIMEOUT: 'soon' })
  for (const name of ['LDAP_URL', 'LDAP_SEARCH_BASE', 'LDAP_SEARCH_FILTER', 'LDAP_TIMEOUT']) t.match(problems, new RegExp(`${name}: `))
})

t.test('cleartext warning only for plain ldap:// to another host', async (t) => {
  t.equal(isCleartextRemote('ldap://ldap.example.org', false), true)
  t.equal(isCleartextRemote('ldap://ldap.example.org', true), false, 'StartTLS')
  t.equal(isCleartextRemote('ldaps://ldap.example.org', false), false)
  t.equal(isCleartextRemote('ldap://127.0.0.1:389', false), false)
  t.equal(isCleartextRemote('ldap://[::1]:389', false), false)
  t.equal(isCleartextRemote('ldap://localhost', false), false)
})
