// Every secret read from a file goes through one reader: errors name the variable that pointed at it.
import t from 'tap'
import { readPasswordFile } from '../../../services/auth-proxy/src/util/secret-file.ts'
import { loadSessionStore } from '../../../services/auth-proxy/src/auth/oidc/session.ts'
import { tempDir } from '../../helpers/htpasswd.ts'

t.test('the variable is named, never the content', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  await t.rejects(readPasswordFile(dir.file('empty', ''), 'OIDC_CLIENT_SECRET_FILE'), { code: 'AUTH_PROXY_ERR_CREDENTIALS_LOAD', message: /^OIDC_CLIENT_SECRET_FILE: .* is empty/ })
  await t.rejects(readPasswordFile('/nonexistent/bind', 'LDAP_BIND_PASSWORD_FILE'), { message: /^LDAP_BIND_PASSWORD_FILE: cannot read \/nonexistent\/bind \(ENOENT\)/ })
})

t.test('SESSION_SECRET_FILE: read like every secret file, then held to the 32-character minimum', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const config = (file: string): Parameters<typeof loadSessionStore>[0] => ({ cookieName: '_auth_proxy', cookieSecure: 'auto', lifetimeMs: 1, secrets: [{ file, variable: 'SESSION_SECRET_FILE' }] })
  const store = await loadSessionStore(config(dir.file('ok', `${'s'.repeat(32)}\n`)))
  t.equal(store.cookieName, '_auth_proxy', 'a 32-character secret with a trailing newline is accepted')
  await t.rejects(loadSessionStore(config(dir.file('short', 'too-short\n'))), { message: /^SESSION_SECRET_FILE: .* fewer than 32 characters/ })
  await t.rejects(loadSessionStore(config('/nonexistent/s')), { message: /^SESSION_SECRET_FILE: cannot read/ })
})
