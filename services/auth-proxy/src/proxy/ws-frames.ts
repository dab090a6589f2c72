// Where WebSocket frames begin and end in a tunnelled byte stream (RFC 6455 §5.2), without buffering or decoding
// a payload: only the 2-14 header bytes of each frame are read, the payload is skipped by its length. The proxy
// relays bytes verbatim; it needs the boundaries for one thing — to end a tunnel (idle timeout, shutdown) with a
// proper Close frame (§5.5.1, code 1001 "going away") instead of a cut connection, which is only possible between
// two frames. Counting the messages that went through comes for free.
import { randomBytes } from 'node:crypto'

const HEADER_MIN = 2

export class FrameBoundary {
  /** Header bytes of the current frame seen so far (at most 14). */
  readonly #header = Buffer.alloc(14)
  #headerLength = 0
  /** Payload bytes of the current frame still to come; -1 while its header is incomplete. */
  #remaining = -1
  /** Complete data messages (FIN set, opcode text, binary or continuation). */
  messages = 0
  /** A Close frame (opcode 8) went this way: this side began the closing handshake (§7.1.2). */
  closing = false

  /** True between two frames: a Close frame may be written now without corrupting the stream. */
  get atBoundary (): boolean { return this.#remaining === -1 && this.#headerLength === 0 }

  feed (chunk: Buffer): void {
    let offset = 0
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset)
        this.#remaining -= take
        offset += take
        if (this.#remaining === 0) this.#remaining = -1
        continue
      }
      // A header byte.
      this.#header[this.#headerLength++] = chunk[offset++] ?? 0
      const needed = this.#headerSize()
      if (needed === undefined || this.#headerLength < needed) continue
      const length = this.#payloadLength()
      const first = this.#header[0] ?? 0
      const opcode = first & 0x0f
      if ((first & 0x80) !== 0 && opcode <= 2) this.messages++
      else if (opcode === 8) this.closing = true
      this.#headerLength = 0
      this.#remaining = length > 0 ? length : -1
    }
  }

  /** The full header size once the first two bytes are known (§5.2: 7-, 16- or 64-bit length, then a mask). */
  #headerSize (): number | undefined {
    if (this.#headerLength < HEADER_MIN) return undefined
    const second = this.#header[1] ?? 0
    const len7 = second & 0x7f
    return HEADER_MIN + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0)
  }

  #payloadLength (): number {
    const len7 = (this.#header[1] ?? 0) & 0x7f
    if (len7 < 126) return len7
    if (len7 === 126) return this.#header.readUInt16BE(2)
    // 64-bit length: beyond 2^53 only a hostile peer; a huge count simply never reaches a boundary again.
    return this.#header.readUInt32BE(2) * 2 ** 32 + this.#header.readUInt32BE(6)
  }
}

/** RFC 6455 §7.4.1: 1001, the endpoint is going away (server shutdown, idle tunnel). */
export const GOING_AWAY = 1001

/**
 * A Close frame with `code` and a short reason (§5.5.1). Frames to a server must be masked (§5.3), frames to a
 * client must not be: the proxy speaks as the app to the browser and as a client to the app.
 */
export function closeFrame (code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason.slice(0, 120), 'utf8')])
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload])
  const mask = randomBytes(4)
  const out = Buffer.alloc(2 + 4 + payload.length)
  out[0] = 0x88
  out[1] = 0x80 | payload.length
  mask.copy(out, 2)
  for (let i = 0; i < payload.length; i++) out[6 + i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0)
  return out
}
