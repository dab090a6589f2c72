// A real OpenID provider (the certified `oidc-provider` package) on a loopback port, with its own RS256 signing
// key, one confidential client for the proxy, test users with passwords checked by its own login form, refresh
// tokens and RP-initiated logout. The tests hold the signing key, so they can also mint bearer tokens.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import Provider, { type Configuration } from 'oidc-provider'
import { freePort } from './upstream.ts'

export interface TestUser {
  readonly password: string
  readonly email: string
  readonly emailVerified?: boolean
  readonly groups: readonly string[]
}

export const USERS: Readonly<Record<string, TestUser>> = {
  alice: { password: 'alice-oidc-pw', email: 'alice@example.org', groups: ['researchers', 'admins'] },
  bob: { password: 'bob-oidc-pw', email: 'bob@example.org', groups: ['researchers'] },
  mallory: { password: 'mallory-oidc-pw', email: 'mallory@evil.example', groups: [] },
  eve: { password: 'eve-oidc-pw', email: 'eve@example.org', emailVerified: false, groups: ['researchers'] }
}

export const CLIENT_ID = 'hello'
export const CLIENT_SECRET = 'hello-client-secret-for-tests-only'

export interface TestProvider {
  readonly issuer: string
  /** Signs a JWT with the provider's own key (or another key) for the bearer tests. */
  mint (claims: JWTPayload, options?: { key?: CryptoKey, kid?: string, alg?: string }): Promise<string>
  /** A key the provider does not publish. */
  readonly strangerKey: CryptoKey
  close (): Promise<void>
}

export interface ProviderOptions {
  /** Callback URLs the client may use (the proxies under test). */
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  /** Access token lifetime in seconds (short to exercise refresh). */
  readonly accessTokenTtl?: number
  readonly port?: number
  /**
   * OpenID Connect Back-Channel Logout 1.0: the client's backchannel_logout_uri. The provider then puts `sid` in ID
   * tokens and, when the user signs out at it, POSTs a signed logout token there.
   */
  readonly backchannelLogoutUri?: string
}

function loginForm (uid: string, error = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test provider login</title></head><body>
<h1>Test provider</h1>${error === '' ? '' : `<p id="error">${error}</p>`}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input id="username" name="login" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="sign-in" type="submit">Sign in</button></form></body></html>`
}

async function readBody (req: IncomingMessage): Promise<URLSearchParams> {
  let body = ''
  for await (const chunk of req as AsyncIterable<Buffer>) body += chunk.toString('utf8')
  return new URLSearchParams(body)
}

export async function startProvider (options: ProviderOptions): Promise<TestProvider> {
  const port = options.port ?? await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk: JWK = { ...await exportJWK(privateKey), kid: 'test-key-1', alg: 'RS256', use: 'sig' }
  const stranger = await generateKeyPair('RS256', { extractable: true })

  const configuration: Configuration = {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [...options.redirectUris],
      post_logout_redirect_uris: [...options.postLogoutRedirectUris],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(options.backchannelLogoutUri !== undefined && { backchannel_logout_uri: options.backchannelLogoutUri, backchannel_logout_session_required: true })
    }],
    jwks: { keys: [jwk] },
    // The provider's own requests (back-channel logout) go to the proxies under test on loopback, which its SSRF
    // guard (a dispatcher refusing special-use addresses) would refuse: plain fetch here, for the tests only.
    fetch: async (url: string | URL | Request, options?: RequestInit) => {
      const plain: RequestInit & { dispatcher?: unknown } = { ...options }
      delete plain.dispatcher
      return await fetch(url, plain)
    },
    cookies: { keys: ['test-provider-cookie-key'] },
    pkce: { required: () => true }, // a proxy that forgets PKCE fails against this provider
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username', 'groups'] },
    findAccount: (_ctx, id) => {
      const user = USERS[id]
      if (user === undefined) return undefined
      return {
        accountId: id,
        claims: () => ({ sub: id, preferred_username: id, name: id, email: user.email, email_verified: user.emailVerified ?? true, groups: [...user.groups] })
      }
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: options.accessTokenTtl ?? 3600, IdToken: 3600, RefreshToken: 86_400, Interaction: 600, Session: 86_400, Grant: 86_400 },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: options.backchannelLogoutUri !== undefined },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = `<!doctype html><html><body><h1>Sign out of the provider?</h1>${form}<button id="confirm-logout" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign out</button></body></html>`
        },
        postLogoutSuccessSource: (ctx) => { ctx.body = '<!doctype html><html><body><h1>Signed out</h1></body></html>' }
      }
    }
  }
  const provider = new Provider(issuer, configuration)
  provider.on('backchannel.error', (_ctx, err: Error) => { process.stderr.write(`test provider: back-channel logout failed: ${err.message} ${String((err as { cause?: unknown }).cause)}\n`) })
  const callback = provider.callback()

  async function interaction (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res)
    if (details.prompt.name === 'login') {
      if (req.method === 'POST' && action === 'login') {
        const form = await readBody(req)
        const login = form.get('login') ?? ''
        if (USERS[login]?.password === form.get('password')) {
          await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false })
          return
        }
        res.writeHead(200, { 'content-type': 'text/html' }).end(loginForm(uid, 'Wrong username or password'))
        return
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end(loginForm(uid))
      return
    }
    // Consent: a first-party client, granted what it asked for.
    const grant = new provider.Grant({ accountId: details.session?.accountId ?? '', clientId: CLIENT_ID })
    const missing = details.prompt.details as { missingOIDCScope?: string[], missingOIDCClaims?: string[] }
    if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
    if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims)
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true })
  }

  const server: Server = createServer((req, res) => {
    const match = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url ?? '')
    if (match === null) { void callback(req, res); return }
    interaction(req, res, match[1] ?? '', match[2]).catch((err: unknown) => {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${(err as Error).message}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))

  return {
    issuer,
    strangerKey: stranger.privateKey,
    async mint (claims, opts = {}) {
      return await new SignJWT({ iss: issuer, aud: CLIENT_ID, sub: 'alice', ...claims })
        .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'test-key-1' })
        .setIssuedAt(typeof claims.iat === 'number' ? claims.iat : undefined) // a test's own iat stands
        .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : '5m')
        .sign(opts.key ?? privateKey)
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
