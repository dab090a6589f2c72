import { readFileSync } from 'node:fs'
import t from 'tap'
import { HtpasswdBackend, parseHtpasswd } from '../../../../services/auth-proxy/src/auth/basic/htpasswd.ts'
import { bcryptScheme } from '../../../../services/auth-proxy/src/auth/basic/password-hash.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'

const FIXTURE = new URL('../../../fixtures/bcrypt.htpasswd', import.meta.url)

function loadError (text: string): string {
  try {
    parseHtpasswd(text, '/secrets/htpasswd')
  } catch (err) {
    t.equal((err as { code?: string }).code, 'AUTH_PROXY_ERR_CREDENTIALS_LOAD')
    return (err as Error).message
  }
  throw new Error('expected a load error')
}

t.test('fixture from real htpasswd -B: every user verifies, wrong passwords do not', async (t) => {
  const backend = await HtpasswdBackend.load(FIXTURE.pathname)
  t.equal(backend.size, 3)
  t.same(await backend.verify('alice', 'wonderland'), { user: 'alice', backend: 'htpasswd' })
  t.same(await backend.verify('bob', 'builder'), { user: 'bob', backend: 'htpasswd' })
  t.same(await backend.verify('carol', 'c:ol!on ünïcode'), { user: 'carol', backend: 'htpasswd' })
  t.equal(await backend.verify('alice', 'Wonderland'), null)
  t.equal(await backend.verify('alice', ''), null)
  t.equal(await backend.verify('mallory', 'wonderland'), null)
})

t.test('bcrypt $2y$ from Apache htpasswd is not silently rejected (native bcrypt knows only $2a$/$2b$)', async (t) => {
  const line = htpasswdLine('dave', 'pa55word', '-B', 4)
  t.match(line, /^dave:\$2y\$04\$/, 'htpasswd -B writes $2y$')
  const hash = line.slice('dave:'.length)
  t.equal(await bcryptScheme.verify('pa55word', hash), true)
  t.equal(await bcryptScheme.verify('pa55worD', hash), false)
  // the same hash under the other prefixes verifies too
  t.equal(await bcryptScheme.verify('pa55word', `$2b$${hash.slice(4)}`), true)
  t.equal(await bcryptScheme.verify('pa55word', `$2a$${hash.slice(4)}`), true)
})

t.test('a file written at run time by real htpasswd -c -B loads', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const file = dir.file('htpasswd', `${htpasswdLine('admin', 'admin1041')}\n${htpasswdLine('eve', 'x y z')}\n`)
  const backend = await HtpasswdBackend.load(file)
  t.ok(await backend.verify('admin', 'admin1041'))
  t.ok(await backend.verify('eve', 'x y z'))
  t.notOk(await backend.verify('admin', 'admin1042'))
})

t.test('blank lines, comments and CRLF line ends are accepted', async (t) => {
  const line = htpasswdLine('u', 'p', '-B', 4)
  const entries = parseHtpasswd(`# comment\r\n\r\n   \n${line}\r\n# another\n`, 'f')
  t.same([...entries.keys()], ['u'])
})

t.test('malformed line: error names the file and line, never the hash', async (t) => {
  const good = htpasswdLine('u', 'p', '-B', 4)
  const msg = loadError(`# c\n${good}\njust-a-user-no-colon\n`)
  t.match(msg, /^HTPASSWD_FILE: \/secrets\/htpasswd line 3: expected "user:hash"/)
})

t.test('empty user name is malformed', async (t) => {
  t.match(loadError(':$2y$04$abcdefghijklmnopqrstuuFp3o2C2bM8V2mJrVJ4dO3u5.W6L4d0e'), /line 1: expected "user:hash"/)
})

t.test('unknown scheme: error names the line and user, never the hash', async (t) => {
  const msg = loadError('x:plaintextpassword\n')
  t.match(msg, /line 1: unsupported or malformed password hash for user "x"/)
  t.notMatch(msg, /plaintextpassword/)
})

t.test('truncated bcrypt hash is rejected at load, not at login', async (t) => {
  const good = htpasswdLine('u', 'p', '-B', 4)
  const msg = loadError(good.slice(0, -3))
  t.match(msg, /line 1: unsupported or malformed/)
  t.notMatch(msg, /\$2y\$/)
})

t.test('extra fields are rejected', async (t) => {
  const good = htpasswdLine('u', 'p', '-B', 4)
  t.match(loadError(`${good}:comment`), /line 1: expected "user:hash" for user "u"/)
})

t.test('duplicate users are rejected (which password would win?)', async (t) => {
  const a = htpasswdLine('u', 'p1', '-B', 4)
  const b = htpasswdLine('u', 'p2', '-B', 4)
  t.match(loadError(`${a}\n${b}\n`), /line 2: user "u" appears more than once/)
})

t.test('a file with no users is rejected', async (t) => {
  t.match(loadError('# only comments\n\n'), /has no users/)
})

t.test('an unreadable file names HTPASSWD_FILE and the error code', async (t) => {
  await t.rejects(HtpasswdBackend.load('/nonexistent/htpasswd'), {
    code: 'AUTH_PROXY_ERR_CREDENTIALS_LOAD',
    message: /^HTPASSWD_FILE: cannot read \/nonexistent\/htpasswd \(ENOENT\)$/
  })
})

t.test('timing: an unknown user costs one verification like a wrong password does', async (t) => {
  const backend = await HtpasswdBackend.load(FIXTURE.pathname)
  const original = bcryptScheme.verify
  const seen: string[] = []
  bcryptScheme.verify = async (password, hash) => { seen.push(hash); return await original(password, hash) }
  t.teardown(() => { bcryptScheme.verify = original })
  t.equal(await backend.verify('nobody', 'wonderland'), null)
  t.equal(seen.length, 1, 'one verification for the unknown user')
  const dummy = seen[0] ?? ''
  t.match(dummy, /^\$2y\$05\$/, 'verified against a hash with the cost most users have (5)')
  t.ok(readFileSync(FIXTURE, 'utf8').includes(dummy), 'one of the file\'s own hashes: same scheme and cost, nothing computed at start-up')
  t.equal(await backend.verify('alice', 'wrong'), null)
  t.equal(seen.length, 2, 'one verification for a wrong password')
})
