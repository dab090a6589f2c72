// Logout that really ends a session, across three replicas sharing a real redis-server and a real OpenID provider:
// a logged-out cookie replayed is refused at every replica; "everywhere" ends every session of the user; the
// provider's back-channel logout (a real one, from oidc-provider, when the user signs out there) ends its sessions
// everywhere; forged, replayed, wrong-audience and nonce-carrying logout tokens are refused and revoke nothing.
import type { JWTPayload } from 'jose'
import t from 'tap'
import { BACKCHANNEL_LOGOUT_EVENT } from '../../../services/auth-proxy/src/auth/oidc/client.ts'
import { SESSION_LOGOUTS_PER_SUBJECT } from '../../../services/auth-proxy/src/auth/oidc/revocations.ts'
import { CookieJar, follow, navigate, oidcLogin } from '../../helpers/browserless.ts'
import { send } from '../../helpers/http.ts'
import { startProvider, USERS, CLIENT_ID, CLIENT_SECRET, type TestProvider } from '../../helpers/oidc-provider.ts'
import { startProxy, type RunningProxy } from '../../helpers/proxy.ts'
import { eventually as until, startRedis, type RedisServer } from '../../helpers/redis.ts'
import { freePort, startUpstream, type Upstream } from '../../helpers/upstream.ts'

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} }
let redis: RedisServer
let upstream: Upstream
let provider: TestProvider
const replicas: RunningProxy[] = []

t.before(async () => {
  redis = await startRedis()
  upstream = await startUpstream()
  const ports = [await freePort(), await freePort(), await freePort()]
  provider = await startProvider({
    redirectUris: ports.map((p) => `http://127.0.0.1:${p}/_auth/callback`),
    postLogoutRedirectUris: ports.map((p) => `http://127.0.0.1:${p}/`),
    backchannelLogoutUri: `http://127.0.0.1:${ports[0] ?? 0}/_auth/backchannel-logout`
  })
  for (const port of ports) {
    replicas.push(await startProxy({
      UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
      SESSION_SECRET: 'revocation-tests-session-secret-0123456789', REDIS_URL: redis.url
    }, port))
  }
  for (const r of replicas) await until(async () => r.app.sharedStore?.store.up === true, 'Redis connected')
})
t.teardown(async () => {
  for (const r of replicas) await r.close()
  await provider.close(); await upstream.close(); await redis.stop()
})


/** A signed-in browser at replica 0: its cookie header (the same host for every replica: cookies ignore ports). */
async function signIn (user = 'alice'): Promise<{ jar: CookieJar, cookie: string }> {
  const jar = new CookieJar()
  const r0 = replicas[0] as RunningProxy
  const { res, hops } = await oidcLogin(jar, `${r0.url}/`, user, USERS[user]?.password ?? '')
  if (res.status !== 200) throw new Error(`login failed: ${res.status} after ${hops.length} hops`)
  return { jar, cookie: jar.header(r0.url) ?? '' }
}
const status = async (r: RunningProxy, cookie: string): Promise<number> => (await send(`${r.url}/api`, { headers: { cookie, accept: 'application/json' } })).status
const everywhereRefuses = async (cookie: string): Promise<boolean> => (await Promise.all(replicas.map(async (r) => await status(r, cookie)))).every((s) => s === 401)

t.test('a logged-out session\'s cookie, replayed, is refused at every replica (within the documented bound)', async (t) => {
  const { jar, cookie } = await signIn()
  t.same(await Promise.all(replicas.map(async (r) => await status(r, cookie))), [200, 200, 200], 'any replica serves the session')
  const r0 = replicas[0] as RunningProxy
  const info = JSON.parse((await navigate(jar, `${r0.url}/_auth/userinfo`)).body) as { csrfToken: string }
  const out = await navigate(jar, `${r0.url}/_auth/logout`, { form: { csrf: info.csrfToken }, headers: { origin: r0.url } })
  t.equal(out.status, 303)
  const ms = await until(async () => await everywhereRefuses(cookie), 'refused everywhere')
  t.ok(ms < 1_000, `refused at all three within ${ms} ms`)
})

t.test('log out everywhere: every session of the user ends on every replica; other users\' do not', async (t) => {
  const a = await signIn()
  const b = await signIn()
  const bob = await signIn('bob')
  const r0 = replicas[0] as RunningProxy
  const info = JSON.parse((await navigate(a.jar, `${r0.url}/_auth/userinfo`)).body) as { csrfToken: string }
  t.equal((await navigate(a.jar, `${r0.url}/_auth/logout`, { form: { csrf: info.csrfToken, everywhere: '1' }, headers: { origin: r0.url } })).status, 303)
  await until(async () => await everywhereRefuses(b.cookie), 'alice\'s other session refused everywhere')
  t.ok(await everywhereRefuses(a.cookie))
  t.same(await Promise.all(replicas.map(async (r) => await status(r, bob.cookie))), [200, 200, 200], 'bob is still signed in')
  const again = await signIn()
  t.equal(await status(replicas[2] as RunningProxy, again.cookie), 200, 'a login after it works')
})

t.test('back-channel logout from the provider: the user signs out there, every replica ends the session', async (t) => {
  const { jar, cookie } = await signIn()
  t.equal(await status(replicas[2] as RunningProxy, cookie), 200)
  // The user signs out at the provider itself (not through the proxy): the provider POSTs a logout token.
  const page = await follow(jar, `${provider.issuer}/session/end`)
  const action = /action="([^"]+)"/.exec(page.res.body)?.[1] ?? ''
  const fields = Object.fromEntries([...page.res.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']))
  await follow(jar, new URL(action, page.url).href, { form: { ...fields, logout: 'yes' } })
  const ms = await until(async () => await everywhereRefuses(cookie), 'refused everywhere after the back-channel logout')
  t.pass(`every replica refused the session ${ms} ms after the provider's sign-out`)
  t.ok((replicas[0] as RunningProxy).logs.some((l) => l.msg === 'back-channel logout'), 'logged at the replica the provider called')
})

t.test('logout tokens that are not the provider\'s valid, fresh, unused ones are refused and revoke nothing', async (t) => {
  const { cookie } = await signIn()
  const [r0, r1] = replicas as [RunningProxy, RunningProxy]
  const post = async (r: RunningProxy, token: string): Promise<number> => (await send(`${r.url}/_auth/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${encodeURIComponent(token)}`
  })).status
  const claims = { sub: 'nobody', jti: `j-${Date.now()}`, events: EVENT }
  for (const [what, token] of [
    ['signed with another key', await provider.mint(claims, { key: provider.strangerKey })],
    ['for another audience', await provider.mint({ ...claims, aud: 'someone-else' })],
    ['carrying a nonce (an ID token)', await provider.mint({ ...claims, nonce: 'n' })],
    ['without the logout event', await provider.mint({ sub: 'alice', jti: 'j-noevent' })],
    ['without sid or sub', await provider.mint({ sub: '', jti: 'j-nosub', events: EVENT })],
    ['from another issuer', await provider.mint({ ...claims, iss: 'https://evil.example' })],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: provider.issuer, aud: CLIENT_ID })).toString('base64url')}.`],
    ['events as an array', await provider.mint({ ...claims, jti: 'j-array', events: [EVENT] })],
    ['the event as an array', await provider.mint({ ...claims, jti: 'j-array2', events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } })],
    ['jti not a string', await provider.mint({ ...claims, jti: { x: 1 } } as unknown as JWTPayload)],
    ['not a JWT', 'garbage']
  ] as const) t.equal(await post(r0, token), 400, what)
  t.equal(await post(r0, ''), 400, 'empty')
  t.equal(await status(r1, cookie), 200, 'alice is still signed in: nothing was revoked')

  const valid = await provider.mint({ sub: 'carol', jti: `j-valid-${Date.now()}`, events: EVENT })
  t.equal(await post(r0, valid), 200, 'a valid one: 200')
  t.equal(await post(r1, valid), 400, 'the same token replayed at another replica: refused (its jti is shared)')
  const upper = await provider.mint({ sub: 'carol', jti: `j-upper-${Date.now()}`, events: EVENT })
  t.equal((await send(`${r0.url}/_auth/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded' }, body: `logout_token=${encodeURIComponent(upper)}`
  })).status, 200, 'media types are case-insensitive (RFC 9110 §8.3.1)')
})

t.test('logout token replayed just after its exp: refused (its jti is kept as long as the token is accepted)', async (t) => {
  const [r0, r1] = replicas as [RunningProxy, RunningProxy]
  const now = Math.floor(Date.now() / 1000)
  const token = await provider.mint({ sub: 'dave', jti: `j-late-${Date.now()}`, events: EVENT, iat: now - 20, exp: now - 10 })
  const post = async (r: RunningProxy): Promise<number> => (await send(`${r.url}/_auth/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${encodeURIComponent(token)}`
  })).status
  t.equal(await post(r0), 200, 'within the clock tolerance: accepted')
  t.equal(await post(r0), 400, 'replayed here: refused')
  t.equal(await post(r1), 400, 'replayed at another replica: refused')
})

t.test('a subject logout reaches the sessions logged in before the token was issued, not those since', async (t) => {
  const { cookie } = await signIn()
  const issued = Math.floor(Date.now() / 1000) - 120 // a token the provider issued two minutes ago, before this login
  const token = await provider.mint({ sub: 'alice', jti: `j-old-${Date.now()}`, events: EVENT, iat: issued, exp: issued + 240 })
  t.equal((await send(`${(replicas[0] as RunningProxy).url}/_auth/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${encodeURIComponent(token)}`
  })).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(await status(replicas[1] as RunningProxy, cookie), 200, 'the newer session stays')
})

t.test('revocation table overflow: a user cycling logins and logouts is one entry after SESSION_LOGOUTS_PER_SUBJECT', async (t) => {
  // Regression: every logout was an entry in a bounded table, so ~100,000 cycles of one account evicted the oldest
  // revocations and their stolen cookies worked again. The user's 10th logout within a lifetime now revokes the user.
  const r0 = replicas[0] as RunningProxy
  const kept = await signIn('bob')
  const cycle = async (): Promise<void> => {
    const { jar } = await signIn('bob')
    const info = JSON.parse((await navigate(jar, `${r0.url}/_auth/userinfo`)).body) as { csrfToken: string }
    t.equal((await navigate(jar, `${r0.url}/_auth/logout`, { form: { csrf: info.csrfToken }, headers: { origin: r0.url } })).status, 303)
  }
  for (let i = 1; i < SESSION_LOGOUTS_PER_SUBJECT; i++) await cycle()
  t.equal(await status(r0, kept.cookie), 200, `${SESSION_LOGOUTS_PER_SUBJECT - 1} logouts: each ended its own session only`)
  await cycle()
  t.equal(await status(r0, kept.cookie), 401, `the ${SESSION_LOGOUTS_PER_SUBJECT}th: every session of the user logged in until then`)
  t.equal(await status(r0, (await signIn('bob')).cookie), 200, 'a login after it works')
})

t.test('Redis data lost: the running replicas publish what they hold again, and a replica started after it refuses too', async (t) => {
  const { jar, cookie } = await signIn()
  const r0 = replicas[0] as RunningProxy
  const info = JSON.parse((await navigate(jar, `${r0.url}/_auth/userinfo`)).body) as { csrfToken: string }
  t.equal((await navigate(jar, `${r0.url}/_auth/logout`, { form: { csrf: info.csrfToken }, headers: { origin: r0.url } })).status, 303)
  await until(async () => await everywhereRefuses(cookie), 'refused everywhere')
  await redis.stop()
  await redis.start() // no persistence: every key is gone
  for (const r of replicas) await until(async () => r.app.sharedStore?.store.up === true, 'reconnected')
  await until(async () => (await redis.command('KEYS', '*r:session:*')).includes('r:session'), 'republished', 8_000)
  const late = await startProxy({
    UPSTREAM_URL: upstream.url, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET: 'revocation-tests-session-secret-0123456789', REDIS_URL: redis.url
  })
  t.teardown(async () => { await late.close() })
  await until(async () => late.app.sharedStore?.store.up === true, 'connected')
  const ms = await until(async () => await status(late, cookie) === 401, 'the late replica refuses', 3_000)
  t.pass(`a replica started after the loss refuses the logged-out cookie (${ms} ms)`)
})
