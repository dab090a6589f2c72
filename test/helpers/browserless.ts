// What a browser does in an OpenID Connect login, without a browser: a cookie jar per origin and redirects
// followed by hand, so tests can stop at any hop, inspect it, and tamper with what crosses it.
import { send, type Response } from './http.ts'

export class CookieJar {
  readonly #byOrigin = new Map<string, Map<string, string>>()

  #cookies (url: string): Map<string, string> {
    const origin = new URL(url).origin
    let cookies = this.#byOrigin.get(origin)
    if (cookies === undefined) {
      cookies = new Map()
      this.#byOrigin.set(origin, cookies)
    }
    return cookies
  }

  /** Takes the response's Set-Cookie fields; Max-Age=0 deletes. */
  store (url: string, setCookie: string | string[] | undefined): void {
    const cookies = this.#cookies(url)
    for (const line of typeof setCookie === 'string' ? [setCookie] : setCookie ?? []) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a))) cookies.delete(name)
      else cookies.set(name, pair.slice(eq + 1).trim())
    }
  }

  header (url: string): string | undefined {
    const cookies = [...this.#cookies(url)].map(([name, value]) => `${name}=${value}`)
    return cookies.length === 0 ? undefined : cookies.join('; ')
  }

  get (url: string, name: string): string | undefined { return this.#cookies(url).get(name) }
  set (url: string, name: string, value: string): void { this.#cookies(url).set(name, value) }
  delete (url: string, name: string): void { this.#cookies(url).delete(name) }
  names (url: string): string[] { return [...this.#cookies(url).keys()] }
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly form?: Record<string, string>
}

/** Like a browser navigating: Accept text/html, Sec-Fetch-Mode navigate, the jar's cookies. */
export async function navigate (jar: CookieJar, url: string, options: RequestOptions = {}): Promise<Response> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString()
  const cookie = jar.header(url)
  const res = await send(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: {
      accept: 'text/html,application/xhtml+xml',
      'sec-fetch-mode': 'navigate',
      ...(cookie !== undefined && { cookie }),
      ...(body !== undefined && { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }),
      ...options.headers
    },
    ...(body !== undefined && { body })
  })
  jar.store(url, res.headers['set-cookie'])
  return res
}

export interface Hop { readonly url: string, readonly status: number, readonly location?: string }

/** Follows redirects (as GET, like browsers after 302/303) until a non-redirect answer. */
export async function follow (jar: CookieJar, url: string, options: RequestOptions = {}, maxHops = 20): Promise<{ res: Response, url: string, hops: Hop[] }> {
  const hops: Hop[] = []
  let current = url
  let res = await navigate(jar, current, options)
  for (let i = 0; i < maxHops && res.status >= 300 && res.status < 400; i++) {
    const location = String(res.headers.location)
    hops.push({ url: current, status: res.status, location })
    current = new URL(location, current).href
    res = await navigate(jar, current)
  }
  hops.push({ url: current, status: res.status })
  return { res, url: current, hops }
}

/** From a page on the proxy through the provider's login form and back. */
export async function oidcLogin (jar: CookieJar, startUrl: string, user: string, password: string): Promise<{ res: Response, url: string, hops: Hop[] }> {
  const toForm = await follow(jar, startUrl)
  const action = /action="([^"]+)"/.exec(toForm.res.body)?.[1]
  if (action === undefined) throw new Error(`no login form at ${toForm.url}: ${toForm.res.status} ${toForm.res.body.slice(0, 200)}`)
  const back = await follow(jar, new URL(action, toForm.url).href, { form: { login: user, password } })
  return { res: back.res, url: back.url, hops: [...toForm.hops, ...back.hops] }
}
