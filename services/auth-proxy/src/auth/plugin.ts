// Authentication and authorization, wired: the methods in force (methods.ts), Basic's authenticator over the
// verifiers, OpenID Connect's endpoints and authenticators, the rules (AUTHZ_RULES_FILE) and HTPASSWD_GROUPS_FILE,
// and the gate (gate.ts) that asks them — in front of every forwarded request (authenticate.ts) and, in
// forward-auth mode, behind the check endpoints (forward-auth/routes.ts).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Policy } from '../authz/policy.ts'
import { NO_RULES, RulesFile } from '../authz/rules-file.ts'
import type { Config } from '../config.ts'
import type { SharedConfig } from '../config/shared.ts'
import type { OperatorLog } from '../log.ts'
import type { RedisStore } from '../store/redis.ts'
import type { RedisRevocationFeed } from '../store/redis-revocations.ts'
import type { RedisThrottle } from '../store/redis-throttle.ts'
import { backendUnavailable } from '../errors.ts'
import authenticate from './authenticate.ts'
import type { RequestAuthenticator } from './authenticator.ts'
import { basicAuthenticator } from './basic/basic-auth.ts'
import { GroupFile } from './basic/groups-file.ts'
import { Gate, type StartLogin } from './gate.ts'
import { loadMethods, type AuthMethods } from './methods.ts'
import type { FailureThrottle } from './throttle.ts'

export interface AuthPluginOptions {
  readonly config: Config
  readonly throttle: FailureThrottle
  /** Called once the methods have loaded (metrics read them from then on). */
  readonly loaded: (methods: AuthMethods) => void
}

/** The Redis connection and what uses it. */
export interface Shared { readonly store: RedisStore, readonly throttle: RedisThrottle, readonly revocations: RedisRevocationFeed }

async function loadShared (config: SharedConfig, log: OperatorLog): Promise<Shared> {
  const [{ RedisStore }, { RedisThrottle }, { RedisRevocationFeed }] = await Promise.all([
    import('../store/redis.ts'), import('../store/redis-throttle.ts'), import('../store/redis-revocations.ts')])
  const store = await RedisStore.create(config, log)
  return { store, throttle: new RedisThrottle(store), revocations: new RedisRevocationFeed(store) }
}

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, { config, throttle, loaded }) => {
  const { auth } = config
  // What the gate finds out about each request (gate.ts), in both modes.
  app.decorateRequest('identity', null)
  app.decorateRequest('authFailure', null)
  app.decorateRequest('authz', null)
  // REDIS_URL: what the replicas share — the throttle's counters and the session revocations (loaded only then).
  const shared = config.shared === undefined ? undefined : await loadShared(config.shared, app.log)
  if (shared !== undefined) {
    throttle.share(shared.throttle)
    app.addHook('onClose', async () => { await shared.store.close() })
  }
  app.decorate('sharedStore', shared)
  const methods = await loadMethods(auth, app.log, shared === undefined ? {} : { revocationFeed: shared.revocations })
  loaded(methods)
  app.decorate('credentials', methods)
  app.addHook('onClose', async () => { await methods.close() })
  const rules = config.authz.rulesFile === undefined ? undefined : await RulesFile.load(config.authz.rulesFile, config.authz.reloadMs, app.log)
  const groups = auth.groupsFile === undefined ? undefined : await GroupFile.load(auth.groupsFile, auth.htpasswdReloadMs, app.log)
  app.addHook('onClose', (_instance, done) => { rules?.close(); groups?.close(); done() })
  app.decorate('rules', rules)

  const basic: RequestAuthenticator[] = methods.verifier === undefined ? [] : [await basicAuthenticator(app, { verifier: methods.verifier, throttle, realm: auth.realm })]
  const login = methods.login
  let session: RequestAuthenticator[] = []
  let oidc: RequestAuthenticator[] = []
  let startLogin: StartLogin | undefined
  let startLoginTo: ((request: FastifyRequest, reply: FastifyReply, returnTo: string) => Promise<unknown>) | undefined
  if (login !== undefined) {
    const [{ default: oidcRoutes }, { bearerAuthenticator, sessionAuthenticator }] = await Promise.all([import('./oidc/routes.ts'), import('./oidc/authenticators.ts')])
    await app.register(oidcRoutes, { login })
    app.signOutPath = `${login.prefix}/logout`
    session = [sessionAuthenticator(login)]
    oidc = [bearerAuthenticator(login, throttle, auth.realm)]
    startLoginTo = async (request, reply, returnTo) => await login.startLogin(request, reply, returnTo).catch((err: unknown) => {
      request.authFailure = 'unavailable'
      throw backendUnavailable(err)
    })
    startLogin = async (request, reply) => await startLoginTo?.(request, reply, request.url)
  }
  app.decorate('startLoginTo', startLoginTo)
  const gate = new Gate({
    // A session cookie first, whatever AUTH_BACKENDS says: the browser's own login, checked without hashing, so a
    // stale Basic header beside it neither costs a bcrypt nor changes who the request is from. Then bearer tokens
    // and Basic in AUTH_BACKENDS order.
    authenticators: [...session, ...(methods.oidcFirst ? [...oidc, ...basic] : [...basic, ...oidc])],
    throttle,
    policy: new Policy(config.publicPaths, () => rules?.current ?? NO_RULES),
    ...(groups !== undefined && { groups })
  })
  app.decorate('gate', gate)
  if (config.mode === 'forward-auth') {
    const { default: forwardAuthRoutes } = await import('../forward-auth/routes.ts')
    const redirect = auth.oidc?.redirectUrl
    await app.register(forwardAuthRoutes, {
      gate, prefix: auth.pathPrefix, login: login !== undefined,
      ...(redirect !== undefined && { loginOrigin: new URL(redirect).origin })
    })
    return
  }
  await app.register(authenticate, {
    gate,
    ...(login !== undefined && { ownPrefix: auth.pathPrefix }),
    ...(startLogin !== undefined && { startLogin })
  })
}

export default fp(authPlugin, { name: 'auth-proxy-credentials', fastify: '5.x' })
