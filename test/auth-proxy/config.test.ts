// One test per configuration rule. Every error must name its variable; all errors come together.
import t from 'tap'
import { DEFAULTS, loadConfig } from '../../services/auth-proxy/src/config.ts'
import { problemsOf } from '../helpers/config.ts'

const CREDS = { AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'secret' }


t.test('defaults', async (t) => {
  const c = loadConfig(CREDS)
  t.same(c.listen, { host: '0.0.0.0', port: 8081 })
  t.same(c.management, { host: '0.0.0.0', port: 9091 })
  t.equal(c.upstream.url, 'http://127.0.0.1:8080')
  t.equal(c.upstream.connectTimeoutMs, DEFAULTS.UPSTREAM_CONNECT_TIMEOUT)
  t.equal(c.upstream.timeoutMs, DEFAULTS.UPSTREAM_TIMEOUT)
  t.equal(c.auth.realm, 'Restricted')
  t.equal(c.auth.userHeader, 'X-Forwarded-User')
  t.equal(c.auth.forwardAuthorization, false)
  t.equal(c.logLevel, 'info')
})

t.test('the result is deeply frozen', async (t) => {
  const c = loadConfig(CREDS)
  t.ok(Object.isFrozen(c))
  t.ok(Object.isFrozen(c.auth))
  t.ok(Object.isFrozen(c.auth.static))
  t.ok(Object.isFrozen(c.upstream))
})

t.test('no credentials at all: refuses to start (fail closed)', async (t) => {
  t.match(problemsOf({}), /HTPASSWD_FILE: no credentials configured/)
})

t.test('HTPASSWD_FILE alone is enough', async (t) => {
  t.equal(loadConfig({ HTPASSWD_FILE: '/etc/htpasswd' }).auth.htpasswdFile, '/etc/htpasswd')
})

t.test('AUTH_USERNAME without a password is refused', async (t) => {
  t.match(problemsOf({ AUTH_USERNAME: 'admin' }), /AUTH_USERNAME: is set but neither AUTH_PASSWORD nor AUTH_PASSWORD_FILE is/)
})

t.test('AUTH_PASSWORD without AUTH_USERNAME is refused', async (t) => {
  t.match(problemsOf({ AUTH_PASSWORD: 'x', HTPASSWD_FILE: '/f' }), /AUTH_PASSWORD: is set but AUTH_USERNAME is not/)
})

t.test('AUTH_PASSWORD_FILE without AUTH_USERNAME is refused', async (t) => {
  t.match(problemsOf({ AUTH_PASSWORD_FILE: '/p', HTPASSWD_FILE: '/f' }), /AUTH_PASSWORD_FILE: is set but AUTH_USERNAME is not/)
})

t.test('AUTH_PASSWORD_FILE wins over AUTH_PASSWORD', async (t) => {
  const c = loadConfig({ AUTH_USERNAME: 'a', AUTH_PASSWORD: 'x', AUTH_PASSWORD_FILE: '/run/secrets/p' })
  t.same(c.auth.static, { username: 'a', passwordFile: '/run/secrets/p' })
})

t.test('AUTH_PASSWORD keeps leading and trailing spaces (they are part of the password)', async (t) => {
  t.equal(loadConfig({ AUTH_USERNAME: 'a', AUTH_PASSWORD: ' pw ' }).auth.static?.password, ' pw ')
})

t.test('AUTH_USERNAME may not contain a colon (RFC 7617 §2)', async (t) => {
  t.match(problemsOf({ AUTH_USERNAME: 'a:b', AUTH_PASSWORD: 'x' }), /AUTH_USERNAME: must not contain ":"/)
})

t.test('AUTH_PASSWORD may not contain control characters', async (t) => {
  t.match(problemsOf({ AUTH_USERNAME: 'a', AUTH_PASSWORD: 'x\u0001y' }), /AUTH_PASSWORD: must not contain control characters/)
})

t.test('LISTEN_PORT and MANAGEMENT_PORT must be ports', async (t) => {
  const msg = problemsOf({ ...CREDS, LISTEN_PORT: '65536', MANAGEMENT_PORT: '-1' })
  t.match(msg, /LISTEN_PORT: must be a TCP port number 0-65535, got "65536"/)
  t.match(msg, /MANAGEMENT_PORT: must be a TCP port number 0-65535, got "-1"/)
})

t.test('MANAGEMENT_PORT must differ from LISTEN_PORT', async (t) => {
  t.match(problemsOf({ ...CREDS, LISTEN_PORT: '9000', MANAGEMENT_PORT: '9000' }), /MANAGEMENT_PORT: must differ from LISTEN_PORT/)
})

t.test('UPSTREAM_URL must be an http(s) origin', async (t) => {
  t.match(problemsOf({ ...CREDS, UPSTREAM_URL: 'not a url' }), /UPSTREAM_URL: must be an absolute/)
  t.match(problemsOf({ ...CREDS, UPSTREAM_URL: 'ftp://x' }), /UPSTREAM_URL: must use http/)
  t.match(problemsOf({ ...CREDS, UPSTREAM_URL: 'http://u:p@x' }), /UPSTREAM_URL: must not contain credentials/)
  t.match(problemsOf({ ...CREDS, UPSTREAM_URL: 'http://x/app' }), /UPSTREAM_URL: must be an origin only/)
  t.equal(loadConfig({ ...CREDS, UPSTREAM_URL: 'http://localhost:3000/' }).upstream.url, 'http://localhost:3000')
})

t.test('timeouts take durations', async (t) => {
  const c = loadConfig({ ...CREDS, UPSTREAM_TIMEOUT: '250ms', UPSTREAM_CONNECT_TIMEOUT: '2' })
  t.equal(c.upstream.timeoutMs, 250)
  t.equal(c.upstream.connectTimeoutMs, 2000)
  t.equal(loadConfig({ ...CREDS, UPSTREAM_TIMEOUT: '2m' }).upstream.timeoutMs, 120_000)
  const msg = problemsOf({ ...CREDS, UPSTREAM_TIMEOUT: '0', UPSTREAM_CONNECT_TIMEOUT: 'soon' })
  t.match(msg, /UPSTREAM_TIMEOUT: must be a positive duration/)
  t.match(msg, /UPSTREAM_CONNECT_TIMEOUT: must be a positive duration/)
})

t.test('AUTH_REALM cannot break out of its quoted-string', async (t) => {
  t.match(problemsOf({ ...CREDS, AUTH_REALM: 'a", charset="latin1' }), /AUTH_REALM: must be 1-128 printable ASCII/)
  t.match(problemsOf({ ...CREDS, AUTH_REALM: 'a\\b' }), /AUTH_REALM/)
  t.equal(loadConfig({ ...CREDS, AUTH_REALM: 'My Lab' }).auth.realm, 'My Lab')
})

t.test('USER_HEADER must be a header name the proxy does not own', async (t) => {
  t.match(problemsOf({ ...CREDS, USER_HEADER: 'X User' }), /USER_HEADER: must be a valid HTTP header name/)
  t.match(problemsOf({ ...CREDS, USER_HEADER: 'Authorization' }), /USER_HEADER: must not be a header the proxy/)
  t.match(problemsOf({ ...CREDS, USER_HEADER: 'host' }), /USER_HEADER: must not be/)
  t.equal(loadConfig({ ...CREDS, USER_HEADER: 'Remote-User' }).auth.userHeader, 'Remote-User')
})

t.test('FORWARD_AUTHORIZATION is a boolean', async (t) => {
  t.equal(loadConfig({ ...CREDS, FORWARD_AUTHORIZATION: 'true' }).auth.forwardAuthorization, true)
  t.equal(loadConfig({ ...CREDS, FORWARD_AUTHORIZATION: 'FALSE' }).auth.forwardAuthorization, false)
  t.match(problemsOf({ ...CREDS, FORWARD_AUTHORIZATION: 'maybe' }), /FORWARD_AUTHORIZATION: must be true or false/)
})

t.test('LOG_LEVEL must be a pino level', async (t) => {
  t.match(problemsOf({ ...CREDS, LOG_LEVEL: 'verbose' }), /LOG_LEVEL: must be one of/)
  t.equal(loadConfig({ ...CREDS, LOG_LEVEL: 'debug' }).logLevel, 'debug')
})

t.test('all problems are reported together, one per line', async (t) => {
  const msg = problemsOf({ LISTEN_PORT: 'x', LOG_LEVEL: 'y', USER_HEADER: 'a b', UPSTREAM_URL: 'z' })
  for (const name of ['LISTEN_PORT', 'LOG_LEVEL', 'USER_HEADER', 'UPSTREAM_URL', 'HTPASSWD_FILE']) {
    t.match(msg, new RegExp(`^  - ${name}: `, 'm'), name)
  }
})

t.test('a configuration error never echoes a password', async (t) => {
  const msg = problemsOf({ AUTH_USERNAME: 'a:b', AUTH_PASSWORD: 'hunter2-secret', LOG_LEVEL: 'nope' })
  t.notMatch(msg, /hunter2-secret/)
})

t.test('credential settings: reload interval, verify cache, throttle', async (t) => {
  const d = loadConfig(CREDS)
  t.equal(d.auth.htpasswdReloadMs, 2_000)
  t.same(d.auth.cache, { maxEntries: 1_000, ttlMs: 300_000 })
  t.same(d.auth.throttle, { limit: 10, clientLimit: 50, accountLimit: 20, windowMs: 60_000, maxClients: 10_000 })
  const c = loadConfig({
    ...CREDS, HTPASSWD_RELOAD_INTERVAL: '500ms', VERIFY_CACHE_SIZE: '0', VERIFY_CACHE_TTL: '1m',
    AUTH_FAILURE_LIMIT: '0', AUTH_FAILURE_WINDOW: '10m', AUTH_FAILURE_MAX_CLIENTS: '50', AUTH_FAILURE_CLIENT_LIMIT: '7', AUTH_FAILURE_ACCOUNT_LIMIT: '3'
  })
  t.equal(c.auth.htpasswdReloadMs, 500)
  t.same(c.auth.cache, { maxEntries: 0, ttlMs: 60_000 })
  t.same(c.auth.throttle, { limit: 0, clientLimit: 7, accountLimit: 3, windowMs: 600_000, maxClients: 50 })
  const msg = problemsOf({ ...CREDS, VERIFY_CACHE_SIZE: '-1', AUTH_FAILURE_LIMIT: 'ten', AUTH_FAILURE_MAX_CLIENTS: '0', HTPASSWD_RELOAD_INTERVAL: 'often' })
  t.match(msg, /VERIFY_CACHE_SIZE: must be a whole number from 0 to/)
  t.match(msg, /AUTH_FAILURE_LIMIT: must be a whole number/)
  t.match(msg, /AUTH_FAILURE_MAX_CLIENTS: must be a whole number from 1 to/)
  t.match(msg, /HTPASSWD_RELOAD_INTERVAL: must be a positive duration/)
})

t.test('TRUST_PROXY takes addresses, CIDRs and proxy-addr keywords; anything else is named', async (t) => {
  t.same(loadConfig(CREDS).trustProxy, [])
  t.same(loadConfig({ ...CREDS, TRUST_PROXY: '10.128.0.0/14, 127.0.0.1 ,::1,loopback' }).trustProxy, ['10.128.0.0/14', '127.0.0.1', '::1', 'loopback'])
  const msg = problemsOf({ ...CREDS, TRUST_PROXY: '10.0.0.0/33,router.local' })
  t.match(msg, /TRUST_PROXY: "10.0.0.0\/33" is not an IP address, a CIDR range/)
  t.match(msg, /TRUST_PROXY: "router.local" is not/)
})
