// A real HTTP upstream on 127.0.0.1:0 that reports what it received, so tests can see exactly what the
// proxy forwarded. Behaviour per request is chosen by the test through `handler`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly rawHeaders: readonly string[]
  readonly bodyBytes: number
}

export interface Upstream {
  readonly url: string
  readonly port: number
  readonly received: Received[]
  close (): Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void

/** Default behaviour: 200 with a JSON echo of what arrived. */
export const echo: Handler = (_req, res, received) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(received))
}

export async function startUpstream (handler: Handler = echo, port = 0): Promise<Upstream> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length })
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes }
      received.push(r)
      handler(req, res, r)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const actual = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    received,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** A port that nothing listens on: bind one, note it, release it. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}
