// Where a browser goes back to after login: only a path on this site. The classic open-redirect bugs of auth
// proxies (oauth2-proxy's among them) were return URLs a browser reads as another origin: `//evil`, `/\evil`
// (browsers treat `\` as `/`), `/\t/evil` (browsers drop tabs and newlines), `https:evil`, or their
// percent-encoded forms once an app decodes them.

/** The fallback for anything refused. */
export const DEFAULT_RETURN_PATH = '/'
const MAX_LENGTH = 2_048

// Any control character, whitespace, backslash, or a character no request-target contains.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_RE = /[\x00-\x20\x7f\\]/

function acceptable (path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !UNSAFE_RE.test(path)
}

/** After decoding, only the start matters: what a browser would drop (controls, spaces) removed, no `//` or `/\`. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const DROPPED_RE = /[\x00-\x20\x7f]/g
function acceptableDecoded (path: string): boolean {
  const squeezed = path.replace(DROPPED_RE, '')
  return squeezed.startsWith('/') && !/^\/[/\\]/.test(squeezed)
}

/**
 * `candidate` if it is a same-origin relative path (`/…`, not `//…`) with no control characters, whitespace or
 * backslashes, whose percent-decoded form does not start like another origin either (`/%2F%2Fevil`,
 * `/%5Cevil`, `/%09/evil`); otherwise `/`.
 */
export function safeReturnPath (candidate: unknown): string {
  if (typeof candidate !== 'string' || candidate.length > MAX_LENGTH || !acceptable(candidate)) return DEFAULT_RETURN_PATH
  let decoded: string
  try {
    decoded = decodeURIComponent(candidate)
  } catch {
    return DEFAULT_RETURN_PATH // malformed escapes: nothing legitimate needs them
  }
  if (!acceptableDecoded(decoded)) return DEFAULT_RETURN_PATH
  // Last line: whatever a URL parser makes of it must stay on our origin.
  const base = 'http://return-path.invalid'
  try {
    if (new URL(candidate, base).origin !== base || new URL(decoded, base).origin !== base) return DEFAULT_RETURN_PATH
  } catch {
    return DEFAULT_RETURN_PATH
  }
  return candidate
}

/** Whether `host` is one of `domains` (`app.example.org`), or below one given as `.example.org`. */
function hostAllowed (host: string, domains: readonly string[]): boolean {
  return domains.some((d) => (d.startsWith('.') ? host.endsWith(d) && host.length > d.length : host === d))
}

/**
 * Where to go back to: a safe path on this site (safeReturnPath), or — for a login serving several hosts
 * (AUTH_RETURN_DOMAINS) — an absolute http(s) URL to one of `domains`, without userinfo, whose path passes the same
 * checks as a relative one. The URL as the WHATWG parser normalises it is returned, so what was checked is what the
 * browser is sent to. Anything else: `/`.
 */
export function safeReturnTarget (candidate: unknown, domains: readonly string[]): string {
  if (domains.length === 0 || typeof candidate !== 'string' || !/^https?:\/\//i.test(candidate)) return safeReturnPath(candidate)
  if (candidate.length > MAX_LENGTH || UNSAFE_RE.test(candidate)) return DEFAULT_RETURN_PATH
  let url: URL
  try { url = new URL(candidate) } catch { return DEFAULT_RETURN_PATH }
  if (url.username !== '' || url.password !== '' || url.hash !== '' || !hostAllowed(url.hostname, domains)) return DEFAULT_RETURN_PATH
  const path = `${url.pathname}${url.search}`
  if (safeReturnPath(path) !== path) return DEFAULT_RETURN_PATH
  return url.href
}
