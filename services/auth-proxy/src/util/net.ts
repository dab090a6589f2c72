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
