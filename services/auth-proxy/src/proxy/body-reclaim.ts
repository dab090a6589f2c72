// Keeps large bodies from inflating the proxy's memory. Every body chunk arrives in a fresh Buffer (Node's HTTP
// parser copies request chunks, undici reads response chunks into new ones, ~64 KB each); once forwarded it is
// garbage, but V8 collects it only when its young generation fills up (rarely: a chunk leaves a few hundred bytes
// of JS objects) or when such memory has grown by ~64 MB. A 1 GiB upload or download therefore grew RSS by ~80 MB
// (docs/benchmarks.md). A scavenge (minor GC, about a millisecond) after every RECLAIM_EVERY_BYTES of streamed
// body frees those Buffers as they go: growth stays under ~20 MB, and transfers get faster, not slower (fewer
// full collections).
import type { Readable } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Body bytes (both directions) between two scavenges: the young generation (--max-semi-space-size=8) holds their objects. */
export const RECLAIM_EVERY_BYTES = 8 * 1024 * 1024

type Gc = (options: { type: 'minor' | 'major' }) => void

/**
 * V8's gc(), without requiring --expose-gc on the command line (the image, `npm start` and any other way of
 * starting the proxy all get it). The flag only installs gc() in contexts created while it is set; it is
 * cleared again at once, so the application's own global scope never gains a gc().
 */
function obtainGc (): Gc | undefined {
  const exposed = (globalThis as { gc?: Gc }).gc
  if (exposed !== undefined) return exposed
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as Gc
  } catch {
    return undefined // without it the proxy works as before, only with the larger plateau
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

/** Obtained once per process (each attempt creates a V8 context), and only when a large body first needs it. */
let processGc: Gc | undefined | null = null
function gc (): Gc | undefined {
  if (processGc === null) processGc = obtainGc()
  return processGc
}

export class BodyReclaimer {
  #streamed = 0
  /** Scavenges run so far (0 forever if gc() could not be had). */
  runs = 0

  /**
   * Counts the body's bytes as they stream. Call it only once the body's consumer has its own 'data' listener
   * attached or will attach it in the same tick: a 'data' listener starts the flow.
   */
  track (body: Readable): void {
    body.on('data', (chunk: Buffer) => { this.add(chunk.length) })
  }

  /** Counts body bytes that went through; scavenges once RECLAIM_EVERY_BYTES have. */
  add (bytes: number): void {
    this.#streamed += bytes
    if (this.#streamed < RECLAIM_EVERY_BYTES) return
    this.#streamed = 0
    const collect = gc()
    if (collect === undefined) return
    this.runs++
    collect({ type: 'minor' })
  }
}
