// MODE=forward-auth: the proxy as an ingress's authentication service, with no app of its own. Two endpoints under
// AUTH_PATH_PREFIX decide on the request the ingress describes (described.ts) with the same gate as a sidecar's
// requests — the rules, the throttle, the verify cache, every credential method:
//   - /check, for nginx `auth_request` and ingress-nginx `auth-url`: 2xx allowed, 401 not signed in (with the
//     challenges, and for a browser X-Auth-Request-Redirect naming its login), 403 not allowed — nginx accepts
//     nothing else from an auth subrequest; its `error_page 401` or ingress-nginx's `auth-signin` sends browsers on;
//   - /forward, for Traefik `forwardAuth` and Caddy `forward_auth`, which relay any answer but a 2xx to the client
//     as it is: the same, except that a browser without credentials is redirected to the login and back.
// Allowed answers carry who it is — X-Auth-Request-User, -Email, -Groups (and -Access-Token with
// OIDC_PASS_ACCESS_TOKEN), the names oauth2-proxy uses — for the ingress to pass to the app. Everything else is
// 404 (error-handler.ts).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isNavigation, type Gate, type StartLogin } from '../auth/gate.ts'
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

/**
 * Who it is, for the ingress to pass on. The three identity fields are always present, empty when there is nothing
 * to say (a public rule, no e-mail): Caddy 2.6's copy_headers writes its own placeholder text into the app's
 * request for a field the answer lacks, and nginx's proxy_set_header drops an empty one.
 */
function allowed (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const identity = request.identity
  void reply.header('cache-control', 'no-store')
    .header('x-auth-request-user', identity === null ? '' : identityValue(identity.user))
    .header('x-auth-request-email', identity?.email === undefined ? '' : identityValue(identity.email))
    .header('x-auth-request-groups', groupsValue(identity?.groups) ?? '')
  if (identity?.accessToken !== undefined) void reply.header('x-auth-request-access-token', identity.accessToken)
  return reply.code(200).send()
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const forwardAuthRoutes: FastifyPluginAsync<ForwardAuthOptions> = async (app, opts) => {
  /** The login for the described request: on its own host (the ingress routes AUTH_PATH_PREFIX here) or on the one login host, then back. */
  function loginUrl (request: FastifyRequest, described: Forwarded): string {
    const origin = describedOrigin(request, described)
    const back = opts.loginOrigin === undefined || opts.loginOrigin === origin ? described.uri : `${origin}${described.uri}`
    return `${opts.loginOrigin ?? origin}${opts.prefix}/login?rd=${encodeURIComponent(back)}`
  }

  /** /forward: the browser itself is redirected (Traefik and Caddy relay the answer). */
  function loginRedirect (described: Forwarded): StartLogin {
    return async (request, reply) => await reply.header('cache-control', 'no-store').redirect(loginUrl(request, described), 302)
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
          if (err !== undefined) {
            // /check answers 401 only (nginx accepts nothing else), and says where a browser should log in, for
            // `auth_request_set $login $upstream_http_x_auth_request_redirect` and an `error_page 401` to use.
            if (!redirects && opts.login && (err as { statusCode?: number }).statusCode === 401 && isNavigation(request)) {
              void reply.header('x-auth-request-redirect', loginUrl(request, described))
            }
            done(err)
            return
          }
          if (!reply.sent) allowed(request, reply)
          done()
        }, true)
      },
      handler: async (_request, reply) => reply
    })
  }
}

export default fp(forwardAuthRoutes, { name: 'auth-proxy-forward-auth', fastify: '5.x' })
