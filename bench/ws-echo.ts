// The WebSocket upstream of bench/websocket.ts, its own process on the driver CPU (as the hello app is for
// run.ts): every message is sent back as it came, binary as binary. A plain GET gets 200 so waitFor() can tell it
// is up, directly and through the proxies. No permessage-deflate (ws's server default, made explicit): the
// benchmark measures the tunnel, not zlib.
//   PORT=N node bench/ws-echo.ts
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT)

const server = createServer((_req, res) => { res.end('ws-echo\n') })
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (socket) => { socket.on('message', (data, binary) => { socket.send(data, { binary }) }) })
server.listen(port, '127.0.0.1')
process.on('SIGTERM', () => { process.exit(0) })
