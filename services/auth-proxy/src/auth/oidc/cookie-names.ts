// The names of the proxy's own cookies, from SESSION_COOKIE_NAME (`_auth_proxy` by default): the session, its
// chunks when it is large (`_auth_proxy_0`, `_1`, …) and one login cookie per login under way
// (`_auth_proxy_login_<state>`). The session store, the login flow and the header rewrite (which keeps them all from
// the app) use these, so the scheme is written once.

/** The n-th chunk of a split session cookie. */
export function chunkName (base: string, n: number): string {
  return `${base}_${n}`
}

/** The login cookie of the login whose state is `state` (named after it, so two tabs logging in do not collide). */
export function loginCookieName (base: string, state: string): string {
  return `${base}_login_${state.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16)}`
}

/** Whether `name` is one of the proxy's cookies for `base`: the session, a chunk, a login cookie. */
export function isOwnCookie (base: string, name: string): boolean {
  return name === base || (name.startsWith(`${base}_`) && /^(\d+|login_.*)$/.test(name.slice(base.length + 1)))
}
