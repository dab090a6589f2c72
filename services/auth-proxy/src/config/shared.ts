// The shared-state part of the configuration: the Redis (or Valkey) every replica uses, when there is one.
import type { EnvReader, SecretSource } from './reader.ts'
import { settingsIn } from './settings.ts'

export interface SharedConfig {
  /** redis:// or rediss://, without credentials (the password comes from REDIS_PASSWORD / _FILE). */
  readonly url: string
  readonly password?: SecretSource
  readonly caFile?: string
  /** Prefix of every key and channel. */
  readonly prefix: string
  readonly timeoutMs: number
}

const PREFIX_RE = /^[A-Za-z0-9_.:-]{0,64}$/

/** REDIS_*: undefined without REDIS_URL (each replica keeps its own state); the other settings need it. */
export function readSharedConfig (r: EnvReader): SharedConfig | undefined {
  const value = r.value('REDIS_URL')
  if (value === undefined) {
    r.onlyWith(settingsIn('Shared state'), 'REDIS_URL')
    return undefined
  }
  const url = r.url('REDIS_URL', value, ['redis:', 'rediss:'])
  // A query would be ignored (and `?password=` is where some clients take one): refused rather than dropped.
  if (url !== undefined && url.search !== '') r.problem('REDIS_URL', 'must not have a query string: the password goes in REDIS_PASSWORD_FILE')
  if (url !== undefined && !/^\/?\d{0,2}$/.test(url.pathname)) r.problem('REDIS_URL', `the path may only be a database number, got "${url.pathname}"`)
  const prefix = r.value('REDIS_KEY_PREFIX')
  if (!PREFIX_RE.test(prefix)) r.problem('REDIS_KEY_PREFIX', `must be at most 64 letters, digits, "_", ".", ":" or "-", got "${prefix}"`)
  const caFile = r.value('REDIS_CA_FILE')
  if (caFile !== undefined && url?.protocol !== 'rediss:') r.problem('REDIS_CA_FILE', 'is set but REDIS_URL is not rediss:// (TLS)')
  const password = r.secret('REDIS_PASSWORD')
  return {
    url: value,
    ...(password !== undefined && { password }),
    ...(caFile !== undefined && { caFile }),
    prefix,
    timeoutMs: r.value('REDIS_TIMEOUT')
  }
}
