// The Shared state settings (REDIS_*): each rule names its variable, all problems together, nothing secret in the URL.
import t from 'tap'
import { loadConfig } from '../../../services/auth-proxy/src/config.ts'
import { problemsOf } from '../../helpers/config.ts'

const BASE = { AUTH_USERNAME: 'alice', AUTH_PASSWORD: 'pw', UPSTREAM_URL: 'http://127.0.0.1:8080' }

t.test('without REDIS_URL there is no shared state, and its other settings are refused', async (t) => {
  t.equal(loadConfig(BASE).shared, undefined)
  t.match(problemsOf({ ...BASE, REDIS_KEY_PREFIX: 'x:' }), /- REDIS_KEY_PREFIX: is set but REDIS_URL is not/)
})

t.test('REDIS_URL with defaults; the password from a file', async (t) => {
  t.match(loadConfig({ ...BASE, REDIS_URL: 'redis://redis:6379/2', REDIS_PASSWORD_FILE: '/run/secret/pw' }).shared, {
    url: 'redis://redis:6379/2', prefix: 'auth-proxy:', timeoutMs: 300, password: { file: '/run/secret/pw', variable: 'REDIS_PASSWORD_FILE' }
  })
})

t.test('refused, each naming REDIS_URL: credentials, a query (?password=), another scheme, a path that is no database', async (t) => {
  for (const url of ['redis://user:pw@redis:6379', 'redis://redis:6379/0?password=pw', 'http://redis:6379', 'redis://redis:6379/keys', 'not a url']) {
    t.match(problemsOf({ ...BASE, REDIS_URL: url }), /^\s+- REDIS_URL: /m, url)
  }
})

t.test('all problems together: a bad prefix and a CA file without TLS', async (t) => {
  const problems = problemsOf({ ...BASE, REDIS_URL: 'redis://redis', REDIS_KEY_PREFIX: 'a b*', REDIS_CA_FILE: '/ca.pem' })
  t.match(problems, /- REDIS_KEY_PREFIX: must be/)
  t.match(problems, /- REDIS_CA_FILE: is set but REDIS_URL is not rediss:/)
})
