import t from 'tap'
import { StaticCredentials } from '../../../../services/auth-proxy/src/auth/basic/static-credentials.ts'
import { readPasswordFile } from '../../../../services/auth-proxy/src/util/secret-file.ts'
import { tempDir } from '../../../helpers/htpasswd.ts'

t.test('AUTH_USERNAME + AUTH_PASSWORD: exact match only', async (t) => {
  const backend = await StaticCredentials.load({ username: 'admin', password: 'admin1041' })
  t.same(await backend.verify('admin', 'admin1041'), { user: 'admin', backend: 'static' })
  t.equal(await backend.verify('admin', 'admin104'), null, 'prefix of the password')
  t.equal(await backend.verify('admin', 'admin10411'), null, 'password plus a character')
  t.equal(await backend.verify('Admin', 'admin1041'), null, 'user names are case-sensitive')
  t.equal(await backend.verify('', ''), null)
})

t.test('AUTH_PASSWORD_FILE: one trailing newline is not part of the password', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  t.equal(await readPasswordFile(dir.file('lf', 's3cret\n')), 's3cret')
  t.equal(await readPasswordFile(dir.file('crlf', 's3cret\r\n')), 's3cret')
  t.equal(await readPasswordFile(dir.file('none', 's3cret')), 's3cret')
  t.equal(await readPasswordFile(dir.file('spaces', ' s3cret \n')), ' s3cret ', 'spaces are kept')
  const backend = await StaticCredentials.load({ username: 'admin', passwordFile: dir.file('pw', 'from-file\n') })
  t.ok(await backend.verify('admin', 'from-file'))
  t.notOk(await backend.verify('admin', 'from-file\n'))
})

t.test('AUTH_PASSWORD_FILE errors name the variable', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  await t.rejects(readPasswordFile('/nonexistent/pw'), { code: 'AUTH_PROXY_ERR_CREDENTIALS_LOAD', message: /^AUTH_PASSWORD_FILE: cannot read \/nonexistent\/pw \(ENOENT\)/ })
  await t.rejects(readPasswordFile(dir.file('empty', '\n')), { message: /AUTH_PASSWORD_FILE: .* is empty/ })
  await t.rejects(readPasswordFile(dir.file('two', 'a\nb\n')), { message: /AUTH_PASSWORD_FILE: .* more than one line/ })
})
