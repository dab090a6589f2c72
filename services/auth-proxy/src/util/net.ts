// Host names and addresses as the proxy's settings and probes use them.
import { isIP } from 'node:net'

/** A host as URL.hostname gives it, without the brackets of an IPv6 literal ("[::1]" → "::1"). */
export function bareHost (hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '')
}

/** Loopback hosts, where plain http:// or ldap:// is acceptable (a provider or directory in the same Pod, tests). */
export function isLoopbackHost (hostname: string): boolean {
  const host = bareHost(hostname)
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

/**
 * The unit a client is counted in by the failure throttle: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or
 * an IPv6 address's /64 — one host, or one home, commonly holds a whole /64 and could otherwise guess from 2^64
 * addresses. Anything else (no address, a Unix socket) is its own unit.
 */
export function clientGroup (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1] !== undefined) return mapped[1]
  if (isIP(address) !== 6) return address
  const [head = '', tail = ''] = address.split('%')[0]?.split('::') ?? []
  const left = head === '' ? [] : head.split(':')
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}

/** A host name as rules compare it: lower case, without the port or IPv6 brackets, and without the one trailing dot
 * DNS allows (`admin.example.org.` is `admin.example.org` to resolvers, nginx and Django alike). */
export function canonicalHost (host: string): string {
  return bareHost(host.toLowerCase().replace(/:\d+$/, '')).replace(/\.$/, '')
}

/**
 * A Host field an app reads as the host the proxy decided on: `uri-host [":" port]` (RFC 9112 §3.2, RFC 3986 §3.2.2)
 * narrowed to what names hosts in practice — DNS labels (letters, digits, `-`, `_`) joined by single dots, one
 * trailing dot at most, or an IP literal in brackets. Refused: `x@host` (userinfo), `host/`, `host;`, `host,x`,
 * `host%2e`, `host..` — which a URL parser in the app reads as `host` while the rules compared something else.
 */
export const HOST_FIELD = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i
