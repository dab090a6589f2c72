// MODE=forward-auth: the proxy as an ingress's authentication service, with no app of its own. Two endpoints under
// AUTH_PATH_PREFIX decide on the request the ingress describes (described.ts) with the same gate as a sidecar's
// requests — the rules, the throttle, the verify cache, every credential method:
//   - /check, for nginx `auth_request` and ingress-nginx `auth-url`: 2xx allowed, 401 not signed in (with the
//     challenges), 403 not allowed — nginx accepts nothing else from an auth subrequest; its `error_page 401` or
//     ingress-nginx's `auth-signin` sends browsers to the login;
//   - /forward, for Traefik `forwardAuth` and Caddy `forward_auth`, which relay any answer but a 2xx to the client
//     as it is: the same, except that a browser without credentials is redirected to the login and back.
// Allowed answers carry who it is — X-Auth-Request-User, -Email, -Groups (and -Access-Token with
// OIDC_PASS_ACCESS_TOKEN), the names oauth2-proxy uses — for the ingress to pass to the app. Everything else is 404.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Gate, StartLogin } from '../auth/gate.ts'
import { NotFoundError } from '../errors.ts'
import { groupsValue, identityValue } from '../proxy/headers.ts'
import { FORWARDED_METHODS } from '../proxy/request-guard.ts'
import { describedOrigin, describeForwarded, type Forwarded } from './described.ts'

export interface ForwardAuthOptions {
  readonly gate: Gate
  readonly prefix: string
  /** Whether OpenID Connect logins exist (a /login to send browsers to). */
  readonly login: boolean
  /** OIDC_REDIRECT_URL's origin when logins happen on one host for several (AUTH_RETURN_DOMAINS). */
  readonly loginOrigin?: string
}

/** Who it is, for the ingress to pass on; nothing for a public rule. */
function allowed (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const identity = request.identity
  void reply.header('cache-control', 'no-store')
  if (identity !== null) {
    void reply.header('x-auth-request-user', identityValue(identity.user))
    if (identity.email !== undefined) void reply.header('x-auth-request-email', identityValue(identity.email))
    const groups = groupsValue(identity.groups)
    if (groups !== undefined) void reply.header('x-auth-request-groups', groups)
    if (identity.accessToken !== undefined) void reply.header('x-auth-request-access-token', identity.accessToken)
  }
  return reply.code(200).send()
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const forwardAuthRoutes: FastifyPluginAsync<ForwardAuthOptions> = async (app, opts) => {
  /** /forward's login: same host (the ingress routes AUTH_PATH_PREFIX here) or the one login host, then back. */
  function loginRedirect (described: Forwarded): StartLogin {
    return async (request, reply) => {
      const origin = describedOrigin(request, described)
      const back = opts.loginOrigin === undefined || opts.loginOrigin === origin ? described.uri : `${origin}${described.uri}`
      return await reply.header('cache-control', 'no-store').redirect(`${opts.loginOrigin ?? origin}${opts.prefix}/login?rd=${encodeURIComponent(back)}`, 302)
    }
  }

  for (const [name, redirects] of [['check', false], ['forward', true]] as const) {
    app.route({
      method: [...FORWARDED_METHODS],
      url: `${opts.prefix}/${name}`,
      // Decided before any body is read: a check has none to read.
      onRequest (request, reply, done) {
        let described: Forwarded
        try {
          described = describeForwarded(request)
        } catch (err) {
          done(err as Error)
          return
        }
        const startLogin = redirects && opts.login ? loginRedirect(described) : undefined
        opts.gate.pass(request, reply, described, startLogin, (err) => {
          if (err !== undefined) { done(err); return }
          if (!reply.sent) allowed(request, reply)
          done()
        })
      },
      handler: async (_request, reply) => reply
    })
  }

  // No app here: whatever is not the proxy's own is nobody's.
  app.setNotFoundHandler(() => { throw new NotFoundError() })
}

export default fp(forwardAuthRoutes, { name: 'auth-proxy-forward-auth', fastify: '5.x' })
