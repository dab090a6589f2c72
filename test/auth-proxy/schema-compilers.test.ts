// Fastify's schema compilers load on first use, not at start-up: neither app declares a schema, and Ajv plus
// fast-json-stringify cost ~60 ms of every start. A route with a schema must still be validated and serialised.
import { createRequire } from 'node:module'
import Fastify from 'fastify'
import t from 'tap'
import { buildApp } from '../../services/auth-proxy/src/app.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { buildManagementApp } from '../../services/auth-proxy/src/management.ts'
import { lazySchemaCompilers } from '../../services/auth-proxy/src/schema-compilers.ts'

const loaded = (name: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/${name}/`))

t.test('building and starting both apps loads no schema compiler', async (t) => {
  const app = buildApp(loadConfig({ AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', UPSTREAM_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'silent' }))
  const management = buildManagementApp({ credentialsReady: () => true, upstreamUrl: 'http://127.0.0.1:9', accepting: () => true }, 'silent')
  t.teardown(async () => { await app.close(); await management.close() })
  await app.ready()
  await management.ready()
  t.equal(loaded('ajv-compiler'), false, '@fastify/ajv-compiler not loaded')
  t.equal(loaded('fast-json-stringify-compiler'), false, '@fastify/fast-json-stringify-compiler not loaded')
  t.equal(loaded('ajv'), false, 'ajv not loaded')
})

t.test('a route that declares schemas is still validated and serialised (compilers loaded on demand)', async (t) => {
  const app = Fastify({ schemaController: { compilersFactory: lazySchemaCompilers } })
  app.post('/', {
    schema: {
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 5 } } },
      response: { 200: { type: 'object', properties: { greeting: { type: 'string' } } } }
    }
  }, async (request) => ({ greeting: `hi ${(request.body as { name: string }).name}`, secret: 'not in the schema' }))
  t.teardown(async () => { await app.close() })
  const bad = await app.inject({ method: 'POST', url: '/', payload: { name: 'much too long' } })
  t.equal(bad.statusCode, 400, 'the body schema is enforced')
  const good = await app.inject({ method: 'POST', url: '/', payload: { name: 'bob' } })
  t.equal(good.statusCode, 200)
  t.same(JSON.parse(good.body), { greeting: 'hi bob' }, 'the response schema is applied (extra fields dropped)')
  t.equal(loaded('ajv-compiler'), true, 'loaded once a schema needed it')
})
