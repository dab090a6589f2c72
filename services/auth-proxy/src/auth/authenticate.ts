// The gate (gate.ts) in front of every forwarded route, as one onRequest hook: the request as received is what is
// decided on. The proxy's own endpoints under AUTH_PATH_PREFIX decide for themselves (OpenID Connect's login and
// callback need no login; forward-auth's check decides on the request an ingress describes).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Described } from '../authz/policy.ts'
import { canonicalHost } from '../util/net.ts'
import { pathOf } from '../util/url.ts'
import type { Gate, StartLogin } from './gate.ts'

export interface AuthenticateOptions {
  readonly gate: Gate
  /** AUTH_PATH_PREFIX when the proxy has endpoints of its own there; they authenticate themselves. */
  readonly ownPrefix?: string
  /** A browser with no credentials at all is sent to log in (OpenID Connect), rather than answered 401. */
  readonly startLogin?: StartLogin
}

/** Under the prefix itself or below it, matched on the raw path (the request guard has refused dot-segments). */
function under (prefix: string | undefined, url: string): boolean {
  if (prefix === undefined || !url.startsWith(prefix)) return false
  const next = url.charAt(prefix.length)
  return next === '' || next === '/' || next === '?'
}

/** The request as received, as the rules see it: its method, Host (behind TRUST_PROXY, X-Forwarded-Host), raw path. */
export function describeReceived (request: FastifyRequest): Described {
  return { method: request.method, host: canonicalHost(request.hostname), path: pathOf(request.url) }
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const authenticatePlugin: FastifyPluginAsync<AuthenticateOptions> = async (app, { gate, ownPrefix, startLogin }) => {
  app.addHook('onRequest', function (request, reply, done) {
    if (under(ownPrefix, request.url)) { done(); return }
    gate.pass(request, reply, describeReceived(request), startLogin, done)
  })
}

export default fp(authenticatePlugin, { name: 'auth-proxy-authenticate', fastify: '5.x' })
