// Configuration of the hello service, read from the environment once at start-up.
// Every problem is reported in one error so an operator fixes them all in one go.

export const DEFAULT_HOST = '127.0.0.1' // the Pod's localhost only: the sidecar is the only way in
export const DEFAULT_PORT = 8080
export const DEFAULT_LOG_LEVEL = 'info'
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export interface HelloConfig {
  readonly host: string
  readonly port: number
  readonly logLevel: string
}

export class HelloConfigError extends Error {
  readonly problems: readonly string[]
  constructor (problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'HelloConfigError'
    this.problems = Object.freeze(problems)
  }
}

export function loadConfig (env: NodeJS.ProcessEnv = process.env): HelloConfig {
  const problems: string[] = []
  const host = env.HOST?.trim() || DEFAULT_HOST
  const rawPort = env.PORT?.trim()
  let port = DEFAULT_PORT
  if (rawPort) {
    port = Number(rawPort)
    if (!/^\d+$/.test(rawPort) || port > 65535) problems.push(`PORT must be a TCP port 0-65535, got "${rawPort}"`)
  }
  const logLevel = env.LOG_LEVEL?.trim() || DEFAULT_LOG_LEVEL
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`)
  if (problems.length > 0) throw new HelloConfigError(problems)
  return Object.freeze({ host, port, logLevel })
}
