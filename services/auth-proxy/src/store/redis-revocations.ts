// Session revocations in Redis, shared by every replica (auth/oidc/revocations.ts decides; this only carries them):
// each one a key that expires when the sessions it covers would have (`r:<kind>:<id>`, PXAT), announced on a
// channel the moment it is made, and read back in full (SCAN) when a replica (re)connects. Logout tokens' `jti`s
// are keys too (`jti:<id>`, SET NX): a token replayed at another replica is refused there as well.
import type { Revocation, RevocationFeed } from '../auth/oidc/revocations.ts'
import type { RedisStore } from './redis.ts'

const CHANNEL = 'revocations'

// KEYS: the revocation's key, the channel. ARGV: the revocation (JSON). Merged with what is there (the later
// `before` and `until` win), not overwritten: a revocation queued during an outage and published after a newer
// one of the same user must not shorten it for replicas that read it later. Then announced, in the same step.
const PUBLISH = `
local r = cjson.decode(ARGV[1])
local old = redis.call('GET', KEYS[1])
if old then
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' then
    if type(o['until']) == 'number' and o['until'] > r['until'] then r['until'] = o['until'] end
    if type(o['before']) == 'number' and type(r['before']) == 'number' and o['before'] > r['before'] then r['before'] = o['before'] end
  end
end
local text = cjson.encode(r)
redis.call('SET', KEYS[1], text, 'PXAT', math.floor(r['until'] * 1000))
redis.call('PUBLISH', KEYS[2], text)
return 1`

function parse (text: string | null): Revocation | undefined {
  if (text === null) return undefined
  try {
    const r = JSON.parse(text) as Partial<Record<'kind' | 'id' | 'until' | 'before', unknown>>
    if (typeof r.id !== 'string' || typeof r.until !== 'number') return undefined
    if (r.kind === 'session' || r.kind === 'provider-session') return { kind: r.kind, id: r.id, until: r.until }
    if (r.kind === 'subject' && typeof r.before === 'number') return { kind: 'subject', id: r.id, before: r.before, until: r.until }
    return undefined
  } catch {
    return undefined // not ours: ignored
  }
}

export class RedisRevocationFeed implements RevocationFeed {
  readonly #redis: RedisStore

  constructor (redis: RedisStore) { this.#redis = redis }

  get up (): boolean { return this.#redis.up }

  async publish (r: Revocation): Promise<void> {
    await this.#redis.script(PUBLISH, [this.#redis.key('r', r.kind, r.id), this.#redis.key(CHANNEL)], [JSON.stringify(r)])
  }

  async claimEpoch (): Promise<boolean> {
    return await this.#redis.command(['SET', this.#redis.key('epoch'), '1', 'NX']) !== 'OK'
  }

  async all (): Promise<Revocation[]> {
    const keys = await this.#redis.scan('r:*')
    const out: Revocation[] = []
    for (let i = 0; i < keys.length; i += 200) {
      const values = await this.#redis.command(['MGET', ...keys.slice(i, i + 200)]) as Array<string | null>
      for (const v of values) { const r = parse(v); if (r !== undefined) out.push(r) }
    }
    return out
  }

  async listen (onRevocation: (r: Revocation) => void, onReconnect: () => void): Promise<void> {
    this.#redis.onReady(onReconnect)
    await this.#redis.subscribe(CHANNEL, (message) => { const r = parse(message); if (r !== undefined) onRevocation(r) })
  }

  async firstSeen (jti: string, until: number): Promise<boolean> {
    return await this.#redis.command(['SET', this.#redis.key('jti', jti), '1', 'NX', 'PXAT', String(until * 1000)]) === 'OK'
  }
}
