// Authentication, wired: the methods in force (methods.ts), Basic's authenticator over the verifiers, OpenID
// Connect's endpoints and authenticators, and the hook that asks them (authenticate.ts) in AUTH_BACKENDS order.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { backendUnavailable } from '../errors.ts'
import authenticate from './authenticate.ts'
import type { RequestAuthenticator } from './authenticator.ts'
import { basicAuthenticator } from './basic/basic-auth.ts'
import { loadMethods, type AuthMethods } from './methods.ts'
import type { FailureThrottle } from './throttle.ts'

export interface AuthPluginOptions {
  readonly config: Config
  readonly throttle: FailureThrottle
  /** Called once the methods have loaded (metrics read them from then on). */
  readonly loaded: (methods: AuthMethods) => void
}

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, { config, throttle, loaded }) => {
  const { auth } = config
  const methods = await loadMethods(auth, app.log)
  loaded(methods)
  app.decorate('credentials', methods)
  app.addHook('onClose', async () => { await methods.close() })

  const basic: RequestAuthenticator[] = methods.verifier === undefined ? [] : [await basicAuthenticator(app, { verifier: methods.verifier, throttle, realm: auth.realm })]
  const login = methods.login
  let session: RequestAuthenticator[] = []
  let oidc: RequestAuthenticator[] = []
  let startLogin: ((request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) | undefined
  if (login !== undefined) {
    const [{ default: oidcRoutes }, { bearerAuthenticator, sessionAuthenticator }] = await Promise.all([import('./oidc/routes.ts'), import('./oidc/authenticators.ts')])
    await app.register(oidcRoutes, { login })
    app.signOutPath = `${login.prefix}/logout`
    session = [sessionAuthenticator(login)]
    oidc = [bearerAuthenticator(login, throttle, auth.realm)]
    startLogin = async (request, reply) => await login.startLogin(request, reply, request.url).catch((err: unknown) => {
      request.authFailure = 'unavailable'
      throw backendUnavailable(err)
    })
  }
  await app.register(authenticate, {
    // A session cookie first, whatever AUTH_BACKENDS says: the browser's own login, checked without hashing, so a
    // stale Basic header beside it neither costs a bcrypt nor changes who the request is from. Then bearer tokens
    // and Basic in AUTH_BACKENDS order.
    authenticators: [...session, ...(methods.oidcFirst ? [...oidc, ...basic] : [...basic, ...oidc])],
    publicPaths: config.publicPaths,
    throttle,
    ...(login !== undefined && { ownPrefix: login.prefix }),
    ...(startLogin !== undefined && { startLogin })
  })
}

export default fp(authPlugin, { name: 'auth-proxy-credentials', fastify: '5.x' })
