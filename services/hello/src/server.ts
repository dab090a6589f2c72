// Process wiring only: config → app → listen; signals; exit codes.
import { buildApp } from './app.ts'
import { HelloConfigError, loadConfig } from './config.ts'

let config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof HelloConfigError)) throw err
  process.stderr.write(`hello: ${err.message}\n`)
  process.exit(78) // EX_CONFIG
}

const app = buildApp(config)

let closing = false
async function shutdown (signal: NodeJS.Signals): Promise<void> {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down')
  try {
    await app.close()
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'error while shutting down')
    process.exit(1)
  }
}
process.on('SIGTERM', (signal) => { void shutdown(signal) })
process.on('SIGINT', (signal) => { void shutdown(signal) })

try {
  await app.listen({ host: config.host, port: config.port })
} catch (err) {
  app.log.fatal({ err }, 'cannot listen')
  process.exit(1)
}
