// OpenID Connect and session settings: each rule names its variable.
import t from 'tap'
import { loadConfig } from '../../../../services/auth-proxy/src/config.ts'
import { problemsOf } from '../../../helpers/config.ts'

const OIDC = {
  OIDC_ISSUER_URL: 'https://id.example.org/realms/lab',
  OIDC_CLIENT_ID: 'hello',
  OIDC_CLIENT_SECRET: 's3cret',
  SESSION_SECRET: 'x'.repeat(32)
}


t.test('OIDC alone is a credential source; defaults', async (t) => {
  const c = loadConfig(OIDC)
  t.same(c.auth.backends, ['oidc'])
  t.match(c.auth.oidc, { clientId: 'hello', scopes: ['openid', 'profile', 'email'], userClaim: 'preferred_username', groupsClaim: 'groups', passAccessToken: false })
  t.match(c.auth.session, { cookieName: '_auth_proxy', lifetimeMs: 12 * 3_600_000 })
  t.equal(c.auth.pathPrefix, '/_auth')
  t.equal(c.auth.emailHeader, 'X-Forwarded-Email')
})

t.test('the issuer must be https:// (http:// only on loopback)', async (t) => {
  t.match(problemsOf({ ...OIDC, OIDC_ISSUER_URL: 'http://id.example.org' }), /OIDC_ISSUER_URL: must use https:\/\//)
  t.ok(loadConfig({ ...OIDC, OIDC_ISSUER_URL: 'http://127.0.0.1:8000' }))
  t.match(problemsOf({ ...OIDC, OIDC_ISSUER_URL: 'id.example.org' }), /OIDC_ISSUER_URL: must be an absolute URL/)
  t.match(problemsOf({ ...OIDC, OIDC_REDIRECT_URL: 'http://app.example.org/_auth/callback' }), /OIDC_REDIRECT_URL: must use https:\/\//)
})

t.test('client id required; scopes must include openid; settings without the issuer are reported', async (t) => {
  t.match(problemsOf({ ...OIDC, OIDC_CLIENT_ID: '' }), /OIDC_CLIENT_ID: is required with OIDC_ISSUER_URL/)
  t.match(problemsOf({ ...OIDC, OIDC_SCOPES: 'profile email' }), /OIDC_SCOPES: must include openid/)
  t.match(problemsOf({ HTPASSWD_FILE: '/h', OIDC_CLIENT_ID: 'x' }), /OIDC_CLIENT_ID: is set but OIDC_ISSUER_URL is not/)
  t.same(loadConfig({ ...OIDC, OIDC_SCOPES: 'openid,email groups' }).auth.oidc?.scopes, ['openid', 'email', 'groups'])
})

t.test('SESSION_SECRET: required, at least 32 characters, only with OIDC', async (t) => {
  t.match(problemsOf({ ...OIDC, SESSION_SECRET: '' }), /SESSION_SECRET: is required with OIDC_ISSUER_URL/)
  t.match(problemsOf({ ...OIDC, SESSION_SECRET: 'short' }), /SESSION_SECRET: must be at least 32 characters/)
  t.match(problemsOf({ HTPASSWD_FILE: '/h', SESSION_SECRET: 'x'.repeat(40) }), /SESSION_SECRET: is set but OIDC_ISSUER_URL is not/)
  t.same(loadConfig({ ...OIDC, SESSION_SECRET: '', SESSION_SECRET_FILE: '/run/s' }).auth.session?.secrets, [{ file: '/run/s', variable: 'SESSION_SECRET_FILE' }])
  t.equal(loadConfig({ ...OIDC, SESSION_SECRET_PREVIOUS: 'y'.repeat(32) }).auth.session?.secrets.length, 2, 'rotation')
  t.match(problemsOf({ ...OIDC, SESSION_COOKIE_NAME: 'bad name;' }), /SESSION_COOKIE_NAME: must be 1-64 letters/)
})

t.test('AUTH_PATH_PREFIX, EMAIL_HEADER and claims are checked', async (t) => {
  t.equal(loadConfig({ ...OIDC, AUTH_PATH_PREFIX: '/oauth2/' }).auth.pathPrefix, '/oauth2')
  t.match(problemsOf({ ...OIDC, AUTH_PATH_PREFIX: 'oauth2' }), /AUTH_PATH_PREFIX: must be a plain path/)
  t.match(problemsOf({ ...OIDC, AUTH_PATH_PREFIX: '/a/../b' }), /AUTH_PATH_PREFIX: must be a plain path/)
  t.match(problemsOf({ ...OIDC, EMAIL_HEADER: 'X-Forwarded-User' }), /EMAIL_HEADER: must differ from USER_HEADER/)
  t.match(problemsOf({ ...OIDC, OIDC_GROUPS_CLAIM: 'groups claim' }), /OIDC_GROUPS_CLAIM: must be a claim name/)
  t.same(loadConfig({ ...OIDC, OIDC_ALLOWED_EMAIL_DOMAINS: '@Example.ORG, uni.example' }).auth.oidc?.allowedEmailDomains, ['example.org', 'uni.example'])
})

t.test('Basic and OIDC together: htpasswd first, then oidc', async (t) => {
  t.same(loadConfig({ ...OIDC, HTPASSWD_FILE: '/h' }).auth.backends, ['htpasswd', 'oidc'])
})
