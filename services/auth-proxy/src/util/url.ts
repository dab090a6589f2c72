// Request targets as the proxy reads them.

/** The path without its query: what routing and rules match on — and what logs show, since queries carry tokens. */
export function pathOf (url: string | undefined): string {
  if (url === undefined) return ''
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
