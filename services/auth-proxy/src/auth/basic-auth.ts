// HTTP Basic authentication (RFC 7617) in front of every public route, via @fastify/basic-auth.
// Header parsing (scheme, token68, base64, control characters, the colon) is the plugin's; deciding
// whether the credentials are valid is the backend's.
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { BackendUnavailableError, UnauthorizedError } from '../errors.ts'
import type { CredentialBackend, Identity } from './backend.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the credentials were accepted; null before that. */
    identity: Identity | null
  }
}

export interface BasicAuthPluginOptions {
  readonly backend: CredentialBackend
  readonly realm: string
}

const basicAuthPlugin: FastifyPluginAsync<BasicAuthPluginOptions> = async (app, opts) => {
  app.decorateRequest('identity', null)

  await app.register(fastifyBasicAuth, {
    // RFC 7617 §2.1: announce UTF-8 so browsers encode non-ASCII user names and passwords the same way we decode them.
    utf8: true,
    authenticate: { realm: opts.realm },
    async validate (user, password, request) {
      let identity: Identity | null
      try {
        identity = await opts.backend.verify(user, password)
      } catch (err) {
        // A backend that cannot decide is "unavailable" (503), never "wrong password" (401).
        throw (err as { statusCode?: number }).statusCode !== undefined ? err : new BackendUnavailableError({ cause: err })
      }
      // One error for unknown user and wrong password alike: the response never says which.
      if (identity === null) return new UnauthorizedError()
      request.identity = identity
      return undefined
    }
  })
  app.addHook('onRequest', app.basicAuth)
}

export default fp(basicAuthPlugin, { name: 'auth-proxy-basic-auth', fastify: '5.x' })
