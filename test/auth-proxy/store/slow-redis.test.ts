// A Redis that takes commands and answers late (stalled, a long script, a partition without a reset) is a Redis
// that is down: every command has REDIS_TIMEOUT, then the replica decides alone for a moment and says so.
// Regression: @redis/client's own `timeout` only covers the wait to be written, so each login waited the full
// stall (10 s behind a relay holding replies 5 s) and the store still said "up".
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { startProxy } from '../../helpers/proxy.ts'
import { slowRelay, startRedis } from '../../helpers/redis.ts'
import { startUpstream } from '../../helpers/upstream.ts'

function value (text: string, series: string): number {
  return Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? Number.NaN)
}

t.test('slow Redis: logins answered within about REDIS_TIMEOUT, counted alone, reported down, shared again once it answers', async (t) => {
  const redis = await startRedis()
  const relay = await slowRelay(redis)
  const upstream = await startUpstream()
  const proxy = await startProxy({
    UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'admin', AUTH_PASSWORD: 'admin1041', AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'loopback',
    REDIS_URL: relay.url, REDIS_TIMEOUT: '300ms'
  })
  t.teardown(async () => { await proxy.close(); await relay.close(); await upstream.close(); await redis.stop() })
  for (let i = 0; i < 200 && proxy.app.sharedStore?.store.up !== true; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  t.ok(proxy.app.sharedStore?.store.up, 'connected through the relay')

  relay.delayMs = 5_000
  const login = async (password: string, from: string): Promise<{ status: number, ms: number }> => {
    const started = Date.now()
    const res = await send(`${proxy.url}/`, { headers: { authorization: basic('admin', password), 'x-forwarded-for': from } })
    return { status: res.status, ms: Date.now() - started }
  }
  const first = await login('admin1041', '198.51.100.1')
  t.equal(first.status, 200, 'the right password gets in')
  t.ok(first.ms < 1_500, `without waiting for the stalled Redis (${first.ms} ms)`)
  const guesses = []
  for (let i = 0; i < 5; i++) guesses.push(await login(`guess${i}`, '203.0.113.7'))
  t.same(guesses.map((g) => g.status), [401, 401, 401, 429, 429], 'the replica throttles alone meanwhile')
  t.ok(guesses.every((g) => g.ms < 1_500), guesses.map((g) => g.ms).join(' '))
  t.notOk(proxy.app.sharedStore?.store.up, 'the store says down')
  const metrics = await proxy.app.metrics.registry.metrics()
  t.equal(value(metrics, 'auth_proxy_shared_store_up'), 0)
  t.ok(value(metrics, 'auth_proxy_shared_store_fallbacks_total{result="fallback"}') >= 1, 'decisions taken alone are counted')

  relay.delayMs = 0
  let back = false
  for (let i = 0; i < 400 && !back; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    back = proxy.app.sharedStore?.store.up === true
  }
  t.ok(back, 'up again once Redis answers in time (after the held replies drain)')
})
