// Process wiring only: configuration → apps → listen; signals; exit codes.
//   0 clean shutdown · 1 runtime failure (cannot listen, credentials unreadable) · 78 invalid configuration
import { buildApp } from './app.ts'
import { loadConfig, type Config } from './config.ts'
import { buildManagementApp } from './management.ts'

const EXIT_CONFIG = 78 // EX_CONFIG from sysexits.h

function fail (message: string, code: number): never {
  // Start-up errors are for an operator reading `kubectl logs`: the message, never a stack trace.
  process.stderr.write(`auth-proxy: ${message}\n`)
  process.exit(code)
}

let config: Config
try {
  config = loadConfig()
} catch (err) {
  fail((err as Error).message, EXIT_CONFIG)
}

const app = buildApp(config)
let accepting = true
const management = buildManagementApp({
  credentialsReady: () => app.credentials.ready(),
  credentialsStatus: () => app.credentials.status(),
  upstreamUrl: config.upstream.url,
  accepting: () => accepting
}, config.logLevel)

let closing = false
async function shutdown (signal: NodeJS.Signals): Promise<void> {
  if (closing) return
  closing = true
  accepting = false
  app.log.info({ signal }, 'shutting down')
  try {
    await app.close() // stops accepting, lets in-flight requests finish
    await management.close()
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'error while shutting down')
    process.exit(1)
  }
}
process.on('SIGTERM', (signal) => { void shutdown(signal) })
process.on('SIGINT', (signal) => { void shutdown(signal) })

try {
  await app.ready()
} catch (err) {
  const e = err as Error & { code?: string }
  fail(`${e.code !== undefined ? `[${e.code}] ` : ''}${e.message}`, 1)
}
try {
  await app.listen({ host: config.listen.host, port: config.listen.port })
  await management.listen({ host: config.management.host, port: config.management.port })
} catch (err) {
  fail(`cannot listen: ${(err as Error).message}`, 1)
}
