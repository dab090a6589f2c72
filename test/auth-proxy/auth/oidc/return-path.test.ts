// The return path after login, checked alone: every open-redirect spelling known from auth proxies' histories.
import t from 'tap'
import { safeReturnPath } from '../../../../services/auth-proxy/src/auth/oidc/return-path.ts'

t.test('same-origin paths are kept, with their query and fragment', async (t) => {
  for (const path of ['/', '/a', '/lab/tree?path=a%2Fb', '/x?q=a%20b&r=%2F%2F', '/a/b#frag', '/%E2%9C%93', '/a//b']) {
    t.equal(safeReturnPath(path), path, path)
  }
})

t.test('anything a browser could read as another origin becomes /', async (t) => {
  const refused = ['//evil.example', '///evil.example', '/\\evil.example', '\\/evil.example', 'https://evil.example', 'https:evil.example',
    'http:/evil.example', 'javascript:alert(1)', 'data:text/html,x', 'evil.example', '', ' /a', '/\t/evil.example', '/\n/evil.example',
    '/\r\n/evil.example', '/%2F/evil.example', '/%2f%2fevil.example', '/%5cevil.example', '/%5C%5Cevil.example', '/%09/evil.example',
    '/%0a/evil.example', '/%20/evil.example', '/%E0%A4%A', '/a\\b', '/a b', `/${'a'.repeat(2048)}`]
  for (const path of refused) t.equal(safeReturnPath(path), '/', JSON.stringify(path))
  t.equal(safeReturnPath(undefined), '/')
  t.equal(safeReturnPath(['/a']), '/', 'a repeated query parameter')
})
