// Fastify requires Ajv and fast-json-stringify when an instance is created, whether or not a route ever declares a
// schema: ~60 ms of the proxy's start-up (docs/benchmarks.md), for two apps that declare none. These factories
// load Fastify's own compilers on first use instead, so a route with a schema would still work exactly as before.
import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>

// Resolved from Fastify's own location: they are its dependencies, in the versions it was built against.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'))

let validator: ValidatorFactory | undefined
let serializer: SerializerFactory | undefined

export const lazySchemaCompilers: CompilersFactory = {
  buildValidator: (...args) => {
    validator ??= (fastifyRequire('@fastify/ajv-compiler') as () => ValidatorFactory)()
    return validator(...args)
  },
  buildSerializer: (...args) => {
    serializer ??= (fastifyRequire('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()
    return serializer(...args)
  }
}
