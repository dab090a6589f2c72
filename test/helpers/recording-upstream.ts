// The app as an attacker's target: a real HTTP server on 127.0.0.1:0 that records every request it parses (so a
// smuggled second request is seen as the request it became) and every byte of every connection, and that can
// accept, refuse or fake WebSocket upgrades on demand.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly rawHeaders: readonly string[]
  readonly body: string
  readonly upgrade: boolean
}

/** What the app does with a WebSocket handshake. */
export type UpgradeMode = 'accept' | 'refuse-426' | 'refuse-404' | 'wrong-accept' | 'h2c-101' | 'hang'

export interface RecordingUpstream {
  readonly url: string
  readonly port: number
  readonly seen: Seen[]
  /** Every byte of every connection, in arrival order (Latin-1). */
  raw (): string
  upgradeMode: UpgradeMode
  /** Bytes received on accepted WebSocket tunnels after the handshake. */
  tunnelBytes: number
  /** Answer the next plain request with a bare 101 (an app trying to open a tunnel the client never asked for). */
  fake101Next: boolean
  /** Upgraded (tunnel) sockets open right now: leaks show here. */
  openTunnels (): number
  reset (): void
  close (): Promise<void>
}

function acceptOf (key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
}

export async function startRecordingUpstream (): Promise<RecordingUpstream> {
  const rawChunks: Buffer[] = []
  const sockets = new Set<Socket>()
  const tunnels = new Set<Socket>()
  const up: RecordingUpstream = {
    url: '', port: 0, seen: [], upgradeMode: 'accept', tunnelBytes: 0, fake101Next: false,
    raw: () => Buffer.concat(rawChunks).toString('latin1'),
    openTunnels: () => tunnels.size,
    reset: () => { up.seen.length = 0; rawChunks.length = 0; up.tunnelBytes = 0; up.upgradeMode = 'accept'; up.fake101Next = false },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
  // Paths with a behaviour of their own: /slow answers after 300 ms; /reject-upload answers 413 at once, without
  // reading the body (as apps do to a too large upload); /304cl answers 304 with a Content-Length (RFC 9110 allows it).
  const server: Server = createServer((req, res) => {
    if (req.url === '/reject-upload') {
      up.seen.push({ method: req.method ?? '', url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: '', upgrade: false })
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('too large')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      up.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('latin1'), upgrade: false })
      if (up.fake101Next) {
        up.fake101Next = false
        req.socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
        return
      }
      if (req.url === '/304cl') { req.socket.end('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: "x"\r\n\r\n'); return }
      res.setHeader('content-type', 'text/plain')
      const answer = (): void => { res.end(`seen ${req.method ?? ''} ${req.url ?? ''}`) }
      if (req.url === '/slow') setTimeout(answer, 300)
      else answer()
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', (chunk: Buffer) => rawChunks.push(chunk))
  })
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    up.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: '', upgrade: true })
    tunnels.add(socket)
    socket.on('close', () => tunnels.delete(socket))
    socket.on('error', () => { socket.destroy() })
    socket.on('end', () => { socket.end() }) // as a WebSocket server does when its peer goes
    const key = req.headers['sec-websocket-key'] ?? ''
    switch (up.upgradeMode) {
      case 'accept':
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`)
        socket.on('data', (chunk: Buffer) => { up.tunnelBytes += chunk.length; socket.write(chunk) })
        break
      case 'refuse-426':
        // Refused, but the connection stays open: a proxy that tunnelled anyway would deliver the client's next bytes here.
        socket.write('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 7\r\n\r\nversion')
        break
      case 'refuse-404':
        socket.write('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nno such kernel')
        socket.end()
        break
      case 'wrong-accept':
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n')
        break
      case 'hang':
        break
      case 'h2c-101':
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n')
        break
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(up, { url: `http://127.0.0.1:${port}`, port })
}
