// The proxy's own endpoints under AUTH_PATH_PREFIX (default /_auth): login, callback, logout, userinfo, and the
// provider's back-channel logout.
// The prefix is reserved: nothing under it ever reaches the app.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AccessDenied, BackendUnavailable, backendUnavailable, CsrfError, forbidden, InvalidLogoutToken, LoginFailedError, NotFoundError, UnauthorizedError } from '../../errors.ts'
import { isProviderAnswer } from './client.ts'
import type { OidcLogin } from './login.ts'
import { DEFAULT_RETURN_PATH } from './return-path.ts'

export interface OidcRoutesOptions {
  readonly login: OidcLogin
}

/** A logout form body is a few dozen bytes; anything longer is not one. */
const MAX_FORM_BYTES = 4_096

async function readForm (request: FastifyRequest, max = MAX_FORM_BYTES): Promise<URLSearchParams> {
  // Media types are case-insensitive (RFC 9110 §8.3.1).
  if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) return new URLSearchParams()
  let body = ''
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    body += chunk.toString('latin1')
    if (body.length > max) throw new CsrfError()
  }
  return new URLSearchParams(body)
}

function html (reply: FastifyReply, body: string): FastifyReply {
  // No form-action: browsers apply it to the redirect after the POST too, which goes on to the provider's logout.
  return reply.header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8').send(`<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body>${body}</body></html>`)
}

/** Maps what can go wrong talking to the provider to the client's answer. */
function providerFailure (request: FastifyRequest, err: unknown): Error {
  if (err instanceof BackendUnavailable) {
    request.authFailure = 'unavailable'
    return backendUnavailable(err)
  }
  if (err instanceof AccessDenied) {
    request.authFailure = 'denied'
    return forbidden(err.user, err)
  }
  if (isProviderAnswer(err)) {
    request.authFailure = 'invalid'
    return new LoginFailedError({ cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}

/** The provider's callback: state, nonce, PKCE and the ID token checked, the session cookie set, back to the page. */
async function callback (login: OidcLogin, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const query = request.query as Record<string, unknown>
  const state = typeof query.state === 'string' ? query.state : ''
  const pending = state === '' ? null : await login.loginState(request, reply, state)
  if (pending === null) {
    // No login of this browser is waiting for this state: a forged, replayed or very late callback.
    request.authFailure = 'invalid'
    throw new LoginFailedError()
  }
  try {
    const callbackUrl = new URL(request.url, pending.redirectUri)
    const result = await login.client.finishLogin(callbackUrl, pending)
    const { size } = await login.startSession(request, reply, result)
    request.log.info({ user: result.identity.user, cookieBytes: size }, 'login')
    void reply.header('cache-control', 'no-store')
    return await reply.redirect(login.returnTarget(pending.returnTo), 302)
  } catch (err) {
    throw providerFailure(request, err)
  }
}

/**
 * Ends the session — here, at the provider, and for every copy of its cookie (revoked) — only with the session's
 * CSRF token, and not from another origin. `everywhere=1` (form field or query) ends all the user's sessions.
 */
async function logout (login: OidcLogin, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const session = await login.session(request, reply)
  let everywhere = (request.query as Record<string, unknown>).everywhere === '1'
  if (session !== null) {
    // SameSite=Lax already keeps the cookie off cross-site POSTs; the origin check and token hold without it.
    const origin = request.headers.origin
    if ((origin !== undefined && origin !== `${request.protocol}://${request.host}`) || request.headers['sec-fetch-site'] === 'cross-site') throw new CsrfError()
    const header = request.headers['x-csrf-token']
    const form = typeof header === 'string' ? undefined : await readForm(request)
    const token = typeof header === 'string' ? header : form?.get('csrf')
    if (!login.store.checkCsrf(session.sid, token)) throw new CsrfError()
    everywhere ||= form?.get('everywhere') === '1'
    request.log.info({ user: session.user, everywhere }, 'logout')
  }
  return await reply.redirect(await login.logout(request, reply, session, everywhere), 303)
}

/** A logout token is a JWT of a few hundred bytes; a form that long is not one. */
const MAX_LOGOUT_TOKEN_BYTES = 16_384

/**
 * OpenID Connect Back-Channel Logout 1.0 §2.8: the provider POSTs `logout_token`; 200 when it was valid and its
 * sessions are revoked, 400 otherwise (503 when the provider's keys cannot be fetched). Never cached.
 */
async function backchannelLogout (login: OidcLogin, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  void reply.header('cache-control', 'no-store')
  let token: string | null
  try {
    token = (await readForm(request, MAX_LOGOUT_TOKEN_BYTES)).get('logout_token')
  } catch {
    token = null
  }
  try {
    if (token === null) throw new InvalidLogoutToken('no logout_token')
    const claims = await login.backchannelLogout(token)
    request.log.info({ ...(claims.sid !== undefined && { providerSession: 'present' }), ...(claims.sub !== undefined && { subject: 'present' }) }, 'back-channel logout')
    return await reply.code(200).send()
  } catch (err) {
    if (err instanceof BackendUnavailable) throw backendUnavailable(err)
    request.log.warn({ reason: (err as Error).message.slice(0, 120) }, 'back-channel logout refused')
    return await reply.code(400).type('application/json').send('{"error":"invalid_request"}')
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const oidcRoutes: FastifyPluginAsync<OidcRoutesOptions> = async (app, { login }) => {
  const prefix = login.prefix

  // Starts a login from a link in the app: /_auth/login?rd=/where/to/return
  app.get(`${prefix}/login`, async (request, reply) => {
    const rd = (request.query as Record<string, unknown>).rd
    try {
      return await login.startLogin(request, reply, login.returnTarget(rd))
    } catch (err) {
      throw providerFailure(request, err)
    }
  })

  app.get(`${prefix}/callback`, async (request, reply) => await callback(login, request, reply))

  // A page with a form: logout changes state, so it is a POST carrying the session's CSRF token.
  app.get(`${prefix}/logout`, async (request, reply) => {
    const session = await login.session(request, reply)
    if (session === null) return await reply.redirect(DEFAULT_RETURN_PATH, 302)
    return html(reply, `<form method="post" action="${prefix}/logout"><input type="hidden" name="csrf" value="${login.store.csrfToken(session.sid)}">` +
      '<p>Sign out of this site?</p><p><label><input type="checkbox" name="everywhere" value="1"> Also on every other browser and device</label></p>' +
      '<button type="submit">Sign out</button></form>')
  })

  app.post(`${prefix}/logout`, async (request, reply) => await logout(login, request, reply))

  // For the provider (its backchannel_logout_uri): a signed logout token ends the sessions it names everywhere.
  app.post(`${prefix}/backchannel-logout`, async (request, reply) => await backchannelLogout(login, request, reply))

  // For the app: who is logged in, and the token its own logout form needs.
  app.get(`${prefix}/userinfo`, async (request, reply) => {
    const session = await login.session(request, reply)
    if (session === null) throw new UnauthorizedError()
    void reply.header('cache-control', 'no-store')
    return {
      user: session.user,
      ...(session.email !== undefined && { email: session.email }),
      groups: session.groups ?? [],
      expiresAt: new Date(session.exp * 1000).toISOString(),
      csrfToken: login.store.csrfToken(session.sid)
    }
  })

  // The rest of the prefix is reserved: never the app's.
  for (const url of [prefix, `${prefix}/*`]) {
    app.all(url, () => { throw new NotFoundError() })
  }
}

export default fp(oidcRoutes, { name: 'auth-proxy-oidc-routes', fastify: '5.x' })
