// What one client may take of the proxy, and the answers to requests Node's parser refuses.
//
// Slowloris (Node CVE-2019-5737, CVE-2020-8251): Node enforces headersTimeout and requestTimeout only when it
// checks its connections, every 30 s by default — a header trickled one line every 5 s was held 74-89 s. Checked
// every second here, each limit holds to within a second. The body's idle limit is request-body.ts'; a tunnel's is
// tunnel.ts'. Which requests are WebSocket upgrades is upgrade.ts' shouldUpgradeCallback.
import type { ServerOptions } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Config } from '../config.ts'
import { BadRequestError, HeadersTooLargeError, PayloadTooLargeError, RequestTimeoutError } from '../errors.ts'
import { isWebSocketUpgrade } from './upgrade.ts'

/** How often Node checks every connection against the header and request timeouts. */
export const CLIENT_CHECK_INTERVAL_MS = 1_000

/** Options for http(s).createServer: timeouts and which upgrades are upgrades. */
export function serverOptions (client: Config['client']): ServerOptions {
  return {
    headersTimeout: client.headerTimeoutMs,
    requestTimeout: client.requestTimeoutMs,
    connectionsCheckingInterval: CLIENT_CHECK_INTERVAL_MS,
    // The request guard refuses an HTTP/1.1 request without Host itself, with a coded answer and a log line.
    requireHostHeader: false,
    shouldUpgradeCallback: isWebSocketUpgrade
  }
}

/** Node's parser error codes → the answer (Node's own mapping, with our codes and body). */
function answerFor (code: string | undefined): Error & { statusCode?: number } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return new HeadersTooLargeError()
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return new PayloadTooLargeError() // CVE-2024-22019's limit
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new RequestTimeoutError()
    default: return new BadRequestError()
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }

/** What Node leaves on a socket with a response under way (not in the types). */
interface PendingResponse { readonly headersSent: boolean, readonly req?: { readonly complete: boolean }, once (event: 'finish' | 'close', listener: () => void): unknown }

/**
 * Fastify's clientErrorHandler: a request Node could not parse (malformed, too large, too slow) gets a short
 * coded answer and the connection closes. When a response is under way on the connection, the error is either in
 * that request's own body (a chunk extension too long: it is answered, unless its headers went out already) or
 * in a request pipelined behind it: then the pending answer is let finish — the app may have acted on that
 * request — and the connection closes after it, without a second status line that would corrupt the first.
 */
export function clientErrorHandler (onError: (status: number) => void): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) { socket.destroy(); return }
    const answer = answerFor(err.code)
    const status = answer.statusCode ?? 400
    onError(status)
    const pending = (socket as Duplex & { _httpMessage?: PendingResponse | null })._httpMessage ?? null
    if (pending !== null && (pending.headersSent || pending.req?.complete !== false)) {
      const close = (): void => { socket.destroy() }
      pending.once('finish', close)
      pending.once('close', close)
      return
    }
    if (!socket.writable) { socket.destroy(); return }
    const body = `${status} ${answer.message} (${(answer as { code?: string }).code ?? ''})\n`
    socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    // A client that never reads its answer must not keep the socket.
    setTimeout(() => { socket.destroy() }, CLIENT_CHECK_INTERVAL_MS).unref()
  }
}
