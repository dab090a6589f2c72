// The hostile-HTTP suite's common ground: the proxy process in front of a recording app, as the issue that
// started the suite configured it (AUTH_USERNAME=alice, PUBLIC_PATHS=/pub), and helpers to write requests byte
// by byte.
import type { Test } from 'tap'
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts'
import { basicToken } from './raw-client.ts'
import { startRecordingUpstream, type RecordingUpstream, type Seen } from './recording-upstream.ts'

export const ALICE = `Basic ${basicToken('alice', 'pw')}`

/** A client handshake key and the upstream-independent parts of a WebSocket handshake (RFC 6455 §4.1). */
export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
export const WS_HANDSHAKE = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${WS_KEY}`]

export interface Target { readonly up: RecordingUpstream, readonly proxy: ProxyProcess }

export async function startTarget (t: Test, env: Record<string, string> = {}): Promise<Target> {
  const up = await startRecordingUpstream()
  const proxy = await startProxyProcess({ UPSTREAM_URL: up.url, AUTH_USERNAME: 'alice', AUTH_PASSWORD: 'pw', PUBLIC_PATHS: '/pub', ...env })
  t.teardown(async () => { await proxy.stop(); await up.close() })
  return { up, proxy }
}

/** A request as raw bytes: request line, header lines (exactly as given), blank line, body. */
export function raw (requestLine: string, headers: readonly string[], body = ''): string {
  return `${requestLine}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`
}

/** Every value the app received for a field, under any spelling the test's predicate accepts. */
export function valuesSeen (seen: Seen, spelling: (name: string) => boolean): string[] {
  const out: string[] = []
  for (let i = 0; i < seen.rawHeaders.length; i += 2) if (spelling(seen.rawHeaders[i] ?? '')) out.push(seen.rawHeaders[i + 1] ?? '')
  return out
}

/** How CGI/WSGI/PHP see a name: case and every separator folded. */
export function folded (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '-')
}

export async function until (condition: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}
