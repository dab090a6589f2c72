// PUBLIC_PATHS: requests the app serves without authentication (its own health check, a favicon, static
// assets). Matching is exact on the raw request path — the same bytes the app will receive — so an encoded
// slash, a backslash, a `;` parameter or a dot-segment can never make a protected path look public: such a
// request simply does not match and must authenticate like any other (fail closed).
import type { PublicPath } from '../config.ts'
import { pathOf } from '../util/url.ts'

export function isPublic (method: string, url: string, publicPaths: readonly PublicPath[]): boolean {
  if (publicPaths.length === 0) return false
  const path = pathOf(url)
  for (const p of publicPaths) {
    if (p.path !== path) continue
    if (p.method === undefined || p.method === method || (p.method === 'GET' && method === 'HEAD')) return true
  }
  return false
}
