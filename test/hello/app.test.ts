import t from 'tap'
import { buildApp, GREETING } from '../../services/hello/src/app.ts'
import { DEFAULT_HOST, DEFAULT_PORT, HelloConfigError, loadConfig } from '../../services/hello/src/config.ts'

const quiet = loadConfig({ LOG_LEVEL: 'silent' })

t.test('GET / answers exactly "Hello World" as UTF-8 text', async (t) => {
  const app = buildApp(quiet)
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'Hello World')
  t.equal(GREETING, 'Hello World')
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
})

t.test('GET /healthz answers 200', async (t) => {
  const app = buildApp(quiet)
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
})

t.test('other paths are 404', async (t) => {
  const app = buildApp(quiet)
  t.teardown(async () => { await app.close() })
  t.equal((await app.inject({ method: 'GET', url: '/nope' })).statusCode, 404)
})

t.test('config: defaults bind the Pod-local loopback on 8080', async (t) => {
  const config = loadConfig({})
  t.equal(config.host, DEFAULT_HOST)
  t.equal(DEFAULT_HOST, '127.0.0.1')
  t.equal(config.port, DEFAULT_PORT)
  t.equal(DEFAULT_PORT, 8080)
  t.ok(Object.isFrozen(config))
})

t.test('config: HOST and PORT are honoured', async (t) => {
  const config = loadConfig({ HOST: '::1', PORT: '9000' })
  t.equal(config.host, '::1')
  t.equal(config.port, 9000)
})

t.test('config: every invalid setting is reported at once, by name', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: '70000', LOG_LEVEL: 'loud' })) as unknown
  t.type(err, HelloConfigError)
  const problems = (err as HelloConfigError).problems
  t.equal(problems.length, 2)
  t.match(problems[0], /^PORT /)
  t.match(problems[1], /^LOG_LEVEL /)
  t.throws(() => loadConfig({ PORT: 'abc' }), /PORT must be a TCP port/)
})
