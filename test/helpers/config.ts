// Configuration errors as text, for the tests that check each rule names its variable.
import { loadConfig } from '../../services/auth-proxy/src/config.ts'

/** The message of the configuration error `env` causes; fails the test when it loads without one. */
export function problemsOf (env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    const e = err as Error & { code?: string }
    if (e.code !== 'AUTH_PROXY_ERR_CONFIG') throw err
    return e.message
  }
  throw new Error('expected a configuration error')
}
