// The client's request body on its way to the app, read so that a slow client cannot hold the app's connections.
// Like nginx's proxy_request_buffering (in memory, up to a bound): a body of up to BUFFERED_BODY_BYTES is read
// whole before the app is asked, so a client trickling a small body — or pretending to (Content-Length: 100000,
// one byte every 5 s) — holds nothing upstream while it does; a larger one is streamed (a 1 GiB upload is not
// buffered) on a pool of its own (forward.ts), so stalled uploads never starve requests without one. Throughout,
// a pause longer than CLIENT_BODY_TIMEOUT ends the request with 408.
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'

/** Bodies up to this size are read whole before forwarding; larger ones stream. */
export const BUFFERED_BODY_BYTES = 64 * 1024

/** The body, read whole (Buffer), or the client's stream with what was read put back. */
export type PreparedBody = Buffer | Readable

export interface BodyTimeout {
  /** Stops watching (the body ended, or the request is over). */
  stop (): void
}

/**
 * Calls `onIdle` when the client has sent no body bytes for `idleMs`. A stream paused by backpressure (the app
 * reading slowly) or holding unread bytes is the app's delay, not the client's, and does not count.
 */
export function watchBodyIdle (body: Readable, idleMs: number, onIdle: () => void): BodyTimeout {
  if (idleMs === 0) return { stop () {} }
  const timer = setTimeout(function check () {
    if (body.readableFlowing === false || body.readableLength > 0) { timer.refresh(); return }
    stop()
    onIdle()
  }, idleMs)
  const refresh = (): void => { timer.refresh() }
  const stop = (): void => {
    clearTimeout(timer)
    body.removeListener('data', refresh)
    body.removeListener('end', stop)
    body.removeListener('close', stop)
  }
  body.on('data', refresh)
  body.once('end', stop)
  body.once('close', stop)
  return { stop }
}

/**
 * Reads up to BUFFERED_BODY_BYTES of the body. Calls back with the whole body as a Buffer when it fits, or with
 * the stream itself (paused, the bytes read so far put back in front) when it does not; with an error when the
 * client went away first. Whoever consumes the stream resumes it (undici does). Returns a function that cancels.
 */
export function prepareBody (raw: IncomingMessage, callback: (err: Error | null, body?: PreparedBody) => void): () => void {
  const chunks: Buffer[] = []
  let size = 0
  const detach = (): void => {
    raw.removeListener('data', onData)
    raw.removeListener('end', onEnd)
    raw.removeListener('close', onClose)
  }
  const done = (err: Error | null, body?: PreparedBody): void => {
    detach()
    callback(err, body)
  }
  function onData (chunk: Buffer): void {
    chunks.push(chunk)
    size += chunk.length
    if (size <= BUFFERED_BODY_BYTES) return
    // Paused first, so the bytes put back wait for the consumer instead of being emitted again at once.
    raw.pause()
    raw.unshift(chunks.length === 1 ? chunk : Buffer.concat(chunks))
    done(null, raw)
  }
  function onEnd (): void { done(null, chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks)) }
  function onClose (): void { if (!raw.complete) done(new Error('client closed the connection')) }
  raw.on('data', onData)
  raw.once('end', onEnd)
  raw.once('close', onClose)
  return detach // cancels: the body is no longer wanted (answered 408)
}
