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
