import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { HelloConfig } from './config.ts'

export const GREETING = 'Hello World'

/** Builds the reference app. Never listens: server.ts does that, tests use inject() or listen on port 0. */
export function buildApp (config: HelloConfig, options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({ logger: { level: config.logLevel }, ...options })

  app.get('/', async (_request, reply) => {
    return reply.type('text/plain; charset=utf-8').send(GREETING)
  })

  app.get('/healthz', async (_request, reply) => {
    return reply.type('text/plain; charset=utf-8').send('ok')
  })

  return app
}
