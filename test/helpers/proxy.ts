// Builds the real auth-proxy app from environment-style settings, listening on 127.0.0.1:0, with every
// log line captured so tests can assert on them (and scan them for secrets).
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../services/auth-proxy/src/app.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'

export interface RunningProxy {
  readonly app: FastifyInstance
  readonly url: string
  /** Every log line, parsed. */
  readonly logs: Array<Record<string, unknown>>
  /** Every log line as written, for secret scans. */
  readonly rawLogs: string[]
  close (): Promise<void>
}

export async function startProxy (env: Record<string, string>, port = 0): Promise<RunningProxy> {
  const logs: Array<Record<string, unknown>> = []
  const rawLogs: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8')
      rawLogs.push(text)
      for (const line of text.split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    }
  })
  const config = loadConfig({ LOG_LEVEL: 'info', ...env })
  const app = buildApp(config, { logStream })
  await app.listen({ host: '127.0.0.1', port })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy did not bind a TCP port')
  return { app, url: `http://127.0.0.1:${address.port}`, logs, rawLogs, close: async () => { await app.close() } }
}

/** The request log lines (one per request), in order. */
export function requestLines (proxy: RunningProxy): Array<Record<string, unknown>> {
  return proxy.logs.filter((l) => l.msg === 'request' || l.msg === 'request aborted')
}
