// The verify cache: the expensive hash once per credential, never a password in memory, bounded, expiring,
// and never able to turn a correct password into a failure or keep a changed one working.
import { Agent, request } from 'node:http'
import t from 'tap'
import { CachedBackend } from '../../../services/auth-proxy/src/auth/verify-cache.ts'
import { basic } from '../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { startUpstream } from '../../helpers/upstream.ts'
import type { PasswordVerifier } from '../../../services/auth-proxy/src/auth/verifier.ts'
import type { Identity } from '../../../services/auth-proxy/src/auth/identity.ts'

/** A backend that knows one password per user and counts how often it is asked. */
function counting (passwords: Record<string, string>): PasswordVerifier & { calls: number, gen: number } {
  return {
    name: 'counting',
    calls: 0,
    gen: 1,
    async verify (user, password) {
      this.calls++
      await new Promise((resolve) => setTimeout(resolve, 5))
      return passwords[user] === password ? { user, backend: 'counting' } : null
    },
    ready: () => true,
    generation () { return this.gen }
  }
}

t.test('a success is computed once, then served from the cache', async (t) => {
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  for (let i = 0; i < 100; i++) t.same(await cache.verify('alice', 'pw'), { user: 'alice', backend: 'counting' } satisfies Identity)
  t.equal(inner.calls, 1)
  t.equal(cache.hits, 99)
})

t.test('a burst of concurrent first requests runs one check (single flight)', async (t) => {
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  const results = await Promise.all(Array.from({ length: 200 }, async () => await cache.verify('alice', 'pw')))
  t.ok(results.every((r) => r?.user === 'alice'))
  t.equal(inner.calls, 1)
})

t.test('failures are never cached: a wrong password does not poison the right one, and is re-checked', async (t) => {
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  t.equal(await cache.verify('alice', 'wrong'), null)
  t.equal(await cache.verify('alice', 'wrong'), null)
  t.equal(inner.calls, 2, 'each failure re-checked')
  t.ok(await cache.verify('alice', 'pw'))
  t.equal(cache.size, 1)
})

t.test('keys separate user and password unambiguously ("a:b"+"c" vs "a"+"b:c")', async (t) => {
  const inner = counting({ 'a:b': 'c' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  t.ok(await cache.verify('a:b', 'c'))
  t.equal(await cache.verify('a', 'b:c'), null, 'not a cache hit for a different split')
})

t.test('entries expire after the TTL', async (t) => {
  let now = 1_000
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 5_000, now: () => now })
  await cache.verify('alice', 'pw')
  now += 4_999
  await cache.verify('alice', 'pw')
  t.equal(inner.calls, 1)
  now += 2
  await cache.verify('alice', 'pw')
  t.equal(inner.calls, 2, 're-verified after expiry')
})

t.test('a new backend generation (a reload) drops every entry', async (t) => {
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  await cache.verify('alice', 'pw')
  inner.gen++
  await cache.verify('alice', 'pw')
  t.equal(inner.calls, 2)
})

t.test('bounded: the least recently used entry goes first', async (t) => {
  const passwords = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`u${i}`, `p${i}`]))
  const inner = counting(passwords)
  const cache = new CachedBackend(inner, { maxEntries: 10, ttlMs: 60_000 })
  for (let i = 0; i < 50; i++) await cache.verify(`u${i}`, `p${i}`)
  t.equal(cache.size, 10)
  await cache.verify('u49', 'p49')
  t.equal(inner.calls, 50, 'recent entry still cached')
  await cache.verify('u0', 'p0')
  t.equal(inner.calls, 51, 'oldest was evicted')
})

t.test('size 0 disables the cache', async (t) => {
  const inner = counting({ alice: 'pw' })
  const cache = new CachedBackend(inner, { maxEntries: 0, ttlMs: 60_000 })
  await cache.verify('alice', 'pw')
  await cache.verify('alice', 'pw')
  t.equal(inner.calls, 2)
})

t.test('the cache never holds the password', async (t) => {
  const secret = 'Very-Secret-Cache-Password'
  const cache = new CachedBackend(counting({ alice: secret }), { maxEntries: 10, ttlMs: 60_000 })
  await cache.verify('alice', secret)
  const { inspect } = await import('node:util')
  t.notMatch(inspect(cache, { depth: 10, showHidden: true }), /Very-Secret/)
})

t.test('10,000 requests with a bcrypt (cost 10) user compute the hash once', async (t) => {
  const dir = tempDir()
  const upstream = await startUpstream((_req, res) => { res.end('ok') })
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: dir.file('htpasswd', htpasswdLine('alice', 'alice-pw', '-B', 10)), LOG_LEVEL: 'warn' })
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  t.teardown(async () => { agent.destroy(); await proxy.close(); await upstream.close(); dir.remove() })
  const { port } = new URL(proxy.url)
  const authorization = basic('alice', 'alice-pw')
  const one = async (): Promise<number> => await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent, headers: { authorization } }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    }).on('error', reject).end()
  })
  let ok = 0
  for (let batch = 0; batch < 100; batch++) {
    const codes = await Promise.all(Array.from({ length: 100 }, one))
    ok += codes.filter((c) => c === 200).length
  }
  t.equal(ok, 10_000)
  const s = proxy.app.credentials.status() as { verifications: number }
  t.equal(s.verifications, 1, 'bcrypt ran once')
  t.equal(proxy.app.credentials.hits, 9_999)
})
