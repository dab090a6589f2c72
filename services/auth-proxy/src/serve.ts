// Process wiring (server.ts starts it): configuration → apps → listen; signals; graceful shutdown; exit codes.
//   0 clean shutdown · 1 runtime failure (cannot listen, credentials unreadable) · 78 invalid configuration
import type { Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from './app.ts'
import { loadConfig, type Config } from './config.ts'
import { buildManagementApp } from './management.ts'

const EXIT_CONFIG = 78 // EX_CONFIG from sysexits.h
const DRAIN_POLL_MS = 50
/** Time for the Close frames of the tunnels still open after the drain to reach their peers. */
const TUNNEL_CLOSE_WAIT_MS = 200

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

let app: ReturnType<typeof buildApp>
try {
  app = buildApp(config)
} catch (err) {
  const e = err as Error & { code?: string }
  fail(`${e.code !== undefined ? `[${e.code}] ` : ''}${e.message}`, 1)
}
let accepting = true
const management = buildManagementApp({
  credentialsReady: () => app.credentials.ready(),
  credentialsStatus: () => app.credentials.status(),
  ...(config.mode === 'sidecar' && { upstreamUrl: config.upstream.url }),
  rulesStatus: () => app.rules?.status(),
  sharedStatus: () => app.sharedStore?.store.status(),
  accepting: () => accepting,
  upstreamAnswered: () => { app.upstreamState.seen = true },
  metrics: app.metrics.registry
}, config.logLevel)

/**
 * Kubernetes' termination, step by step: readiness fails at once so the endpoints controller takes the Pod out
 * of the Service; for SHUTDOWN_DELAY the proxy keeps serving whatever still arrives; then the listener closes
 * (new connections are refused, idle keep-alive sockets closed, answers carry `Connection: close`); in-flight
 * requests and WebSockets get until SHUTDOWN_TIMEOUT to finish; whatever is left is closed; exit 0.
 */
let closing = false
async function shutdown (signal: NodeJS.Signals): Promise<void> {
  if (closing) return
  closing = true
  accepting = false
  app.log.info({ signal, delayMs: config.shutdown.delayMs, timeoutMs: config.shutdown.timeoutMs }, 'shutting down: readiness off')
  await sleep(config.shutdown.delayMs)

  app.draining = true
  const server: Server = app.server
  server.close()
  const deadline = Date.now() + config.shutdown.timeoutMs
  while ((app.metrics.inFlight > 0 || app.tunnels.size > 0) && Date.now() < deadline) await sleep(DRAIN_POLL_MS)
  const left = { requests: app.metrics.inFlight, websockets: app.tunnels.size }
  app.log.info(left, left.requests + left.websockets === 0 ? 'drained' : 'shutdown timeout: closing what is left')

  app.tunnels.endAll() // RFC 6455 §7.4.1: a Close frame 1001, "going away", where the streams allow it
  server.closeAllConnections()
  await sleep(app.tunnels.size > 0 ? TUNNEL_CLOSE_WAIT_MS : 0)
  await Promise.race([Promise.allSettled([app.close(), management.close()]), sleep(1_000)])
  process.exit(0)
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
