// Every error code is documented, and every documented code exists: a new code cannot ship undocumented.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ERROR_CODES } from '../../services/auth-proxy/src/errors.ts'

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
const documented = [...doc.matchAll(/^\| `(AUTH_PROXY_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1])

t.test('every code in errors.ts is in docs/errors.md', async (t) => {
  t.ok(ERROR_CODES.length >= 10)
  for (const code of ERROR_CODES) t.ok(documented.includes(code), code)
})

t.test('every code in docs/errors.md exists in errors.ts', async (t) => {
  for (const code of documented) t.ok(code !== undefined && ERROR_CODES.includes(code), code ?? '')
})

t.test('codes are unique and stable in form', async (t) => {
  t.equal(new Set(ERROR_CODES).size, ERROR_CODES.length)
  for (const code of ERROR_CODES) t.match(code, /^AUTH_PROXY_ERR_[A-Z_]+$/)
})

t.test('every error class errors.ts exports is a documented code or a documented domain error', async (t) => {
  const errors = await import('../../services/auth-proxy/src/errors.ts')
  const domain = [...doc.matchAll(/^\| `([A-Za-z]+)` \| domain \|/gm)].map((m) => m[1])
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || !/^[A-Z]/.test(name)) continue
    if (!((value as { prototype?: unknown }).prototype instanceof Error)) continue
    // Coded classes construct without arguments; a domain error that needs some has no code either way.
    let instance: unknown
    try { instance = new (value as new () => unknown)() } catch { instance = undefined }
    const code = (instance as { code?: string } | undefined)?.code
    if (typeof code === 'string' && code.startsWith('AUTH_PROXY_ERR_')) t.ok(ERROR_CODES.includes(code) && documented.includes(code), `${name}: ${code}`)
    else t.ok(domain.includes(name), `${name}: a domain error in docs/errors.md`)
  }
})
