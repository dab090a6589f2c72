// What a person sees in the browser when something is not right: a small page that says what happened and what to
// do — wait while the app starts (the page reloads by itself), when to try signing in again, as whom they are
// signed in and how to sign out, that the sign-in service is unreachable — with the request id kept for support.
// Self-contained (no external assets), under a strict CSP (the one inline style allowed by its hash, no script),
// readable on a phone. Scripts asking for JSON or text get those instead (error-handler.ts).
import { createHash } from 'node:crypto'

export interface PageFacts {
  readonly statusCode: number
  readonly code: string
  readonly message: string
  readonly requestId: string
  /** Seconds after which trying again makes sense (Retry-After), when known. */
  readonly retryAfterSeconds?: number
  /** Who is signed in, when the page is about them (403). */
  readonly user?: string
  /** Where to sign out, when the proxy runs OpenID Connect logins. */
  readonly signOutPath?: string
}

const STYLE = 'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5f5;color:#151515}' +
  'main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border-top:4px solid #c9190b;border-radius:4px;box-shadow:0 1px 3px #0002}' +
  'main.wait{border-top-color:#06c}h1{font-size:1.5rem;margin:0 0 .5rem}p{margin:.5rem 0}a{color:#06c}' +
  '.meta{margin-top:1.5rem;font-size:.8rem;color:#6a6e73;word-break:break-all}@media (max-width:36rem){main{margin:0;border-radius:0;min-height:100vh;box-sizing:border-box}}'

/** The CSP for the pages: nothing but the one inline style (by its hash), no script, no frames, no forms elsewhere. */
export const ERROR_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

/** Text into HTML: markup escaped, and control characters (a user name from a token may hold any) shown as U+FFFD. */
export function escapeHtml (text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd')
}

/** When `seconds` from now is, as the browser's reader would read a clock (UTC, since the page has no script). */
function at (seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString().slice(11, 19)
}

interface Content { readonly title: string, readonly lines: readonly string[], readonly wait?: boolean, readonly reloadSeconds?: number }

function content (f: PageFacts): Content {
  const retry = f.retryAfterSeconds
  switch (f.code) {
    case 'AUTH_PROXY_ERR_UPSTREAM_STARTING':
      return { title: 'The app is starting', wait: true, reloadSeconds: retry ?? 5, lines: [`This page reloads by itself in ${retry ?? 5} seconds.`] }
    case 'AUTH_PROXY_ERR_UPSTREAM_UNAVAILABLE':
    case 'AUTH_PROXY_ERR_UPSTREAM_TIMEOUT':
    case 'AUTH_PROXY_ERR_BAD_GATEWAY':
      return { title: 'The app is not answering', wait: true, reloadSeconds: 10, lines: ['It may be restarting. This page tries again by itself in 10 seconds.', 'If it stays like this, tell whoever runs the app.'] }
    case 'AUTH_PROXY_ERR_TOO_MANY_FAILURES':
      return { title: 'Too many failed sign-ins', lines: [`For your account's safety, signing in from here is paused. Try again in ${retry ?? 60} seconds (after ${at(retry ?? 60)} UTC).`] }
    case 'AUTH_PROXY_ERR_BACKEND_UNAVAILABLE':
      return { title: 'The sign-in service is unreachable', wait: true, reloadSeconds: retry ?? 5, lines: [`Signing in cannot be checked right now. This page tries again by itself in ${retry ?? 5} seconds.`] }
    case 'AUTH_PROXY_ERR_FORBIDDEN':
      return {
        title: 'You are signed in, but not allowed here',
        lines: [
          f.user !== undefined ? `You are signed in as <strong>${escapeHtml(f.user)}</strong>, and this account may not open this page.` : 'Your account may not open this page.',
          f.signOutPath !== undefined ? `<a href="${escapeHtml(f.signOutPath)}">Sign out</a> to use another account.` : 'To use another account, close the browser and sign in again.'
        ]
      }
    case 'AUTH_PROXY_ERR_UNAUTHORIZED':
      return { title: 'Sign-in required', lines: ['Reload the page to sign in again.'] }
    case 'AUTH_PROXY_ERR_LOGIN_FAILED':
      return { title: 'Signing in did not complete', lines: ['The sign-in took too long or was started in another window. Go back to the page and try again.'] }
    default:
      return { title: f.message, lines: [] }
  }
}

export function errorPage (f: PageFacts): string {
  const c = content(f)
  const refresh = c.reloadSeconds !== undefined ? `<meta http-equiv="refresh" content="${c.reloadSeconds}">` : ''
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `${refresh}<title>${f.statusCode} ${escapeHtml(c.title)}</title><style>${STYLE}</style></head><body>` +
    `<main${c.wait === true ? ' class="wait"' : ''}><h1>${escapeHtml(c.title)}</h1>${c.lines.map((l) => `<p>${l}</p>`).join('')}` +
    `<p class="meta">${f.statusCode} · ${escapeHtml(f.code)} · request ${escapeHtml(f.requestId)}</p></main></body></html>\n`
}
