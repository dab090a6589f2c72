// The app behind the proxies in the soak run: a real process the faults can kill, stop and restart. Small pages,
// downloads and uploads of a chosen size, and a WebSocket echo — the kinds of traffic a Jupyter or Shiny user makes.
//   node bench/soak/app.ts PORT
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2])
const CHUNK = Buffer.alloc(64 * 1024, 0x61)

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://app')
  if (req.method === 'POST' && url.pathname === '/upload') {
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length })
    req.on('end', () => { res.end(`stored ${bytes}`) })
    return
  }
  if (url.pathname === '/download') {
    let left = Number(url.searchParams.get('bytes') ?? 0)
    res.setHeader('content-length', String(left))
    const pump = (): void => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
        left -= chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
    return
  }
  res.setHeader('content-type', 'text/plain')
  res.end(`hello ${String(req.headers['x-forwarded-user'] ?? 'nobody')}\n`)
})
const wss = new WebSocketServer({ server, path: '/ws' })
wss.on('connection', (socket) => { socket.on('message', (data, binary) => { socket.send(data, { binary }) }) })
server.listen(port, '127.0.0.1', () => { process.stdout.write(`app listening on ${port}\n`) })
process.on('SIGTERM', () => { process.exit(0) })
