// Basic credentials as an attacker writes them (RFC 7617 §2, RFC 9110 §11), and identities that are hard to carry:
// user names beyond Latin-1 must reach the app (UTF-8 bytes, documented), control characters never.
import t from 'tap'
import { ALICE, raw, startTarget } from '../../helpers/hostile.ts'
import { htpasswdLine, tempDir } from '../../helpers/htpasswd.ts'
import { basicToken, exchange } from '../../helpers/raw-client.ts'

const dir = tempDir()
t.teardown(() => { dir.remove() })
const users = ['Łukasz', 'šlice', 'Müller', '日本語', 'ordinary']
const htpasswd = dir.file('htpasswd', `${users.map((u) => htpasswdLine(u, 'pw:with colon')).join('\n')}\n`)
const { up, proxy } = await startTarget(t, { HTPASSWD_FILE: htpasswd, AUTH_FAILURE_LIMIT: '0' })
t.beforeEach(() => { up.reset() })

async function statusWith (authorization: string): Promise<number | undefined> {
  const res = await exchange(proxy.port, raw('GET /priv HTTP/1.1', ['Host: x', `Authorization: ${authorization}`]), { responses: 1 })
  return res.statuses[0]
}

const REFUSED: Array<[string, string]> = [
  ['scheme only', 'Basic'],
  ['scheme and a space', 'Basic '],
  ['two spaces after the scheme', `Basic  ${basicToken('alice', 'pw')}`],
  ['tab after the scheme', `Basic\t${basicToken('alice', 'pw')}`],
  ['trailing garbage after token68', `${ALICE} x`],
  ['a comma list of credentials', `${ALICE}, Basic ${basicToken('bob', 'x')}`],
  ['not base64', 'Basic !!!!'],
  ['no colon in the decoded value', `Basic ${Buffer.from('alicepw').toString('base64')}`],
  ['NUL in the user name', `Basic ${Buffer.from('alice\x00:pw').toString('base64')}`],
  ['CR LF in the password', `Basic ${Buffer.from('alice:pw\r\nX-Forwarded-User: admin').toString('base64')}`],
  ['empty user and password', `Basic ${Buffer.from(':').toString('base64')}`],
  ['wrong password', `Basic ${basicToken('alice', 'wrong')}`],
  ['right password, other user', `Basic ${basicToken('bob', 'pw')}`],
  ['Bearer instead of Basic', `Bearer ${basicToken('alice', 'pw')}`],
  ['Digest instead of Basic', 'Digest username="alice"'],
  ['the password as the user', `Basic ${basicToken('pw', 'alice')}`],
  ['a Latin-1 encoding of a UTF-8 user', `Basic ${Buffer.from('Müller:pw:with colon', 'latin1').toString('base64')}`]
]

for (const [name, authorization] of REFUSED) {
  t.test(`basic-parsing ${name}: 401 with the challenge, nothing forwarded`, async (t) => {
    t.equal(await statusWith(authorization), 401)
    t.equal(up.seen.length, 0)
  })
}

t.test('basic-parsing whitespace around the field value is not part of it (RFC 9110 §5.5)', async (t) => {
  t.equal(await statusWith(` ${ALICE}  `), 200)
})

t.test('basic-parsing the scheme is case-insensitive (RFC 9110 §11.1)', async (t) => {
  for (const scheme of ['basic', 'BASIC', 'bAsIc']) t.equal(await statusWith(`${scheme} ${basicToken('alice', 'pw')}`), 200, scheme)
})

t.test('basic-parsing a password with a colon: split at the first colon only (RFC 7617 §2)', async (t) => {
  t.equal(await statusWith(`Basic ${basicToken('ordinary', 'pw:with colon')}`), 200)
  t.equal(up.seen[0]?.headers['x-forwarded-user'], 'ordinary')
})

t.test('basic-parsing an over-long Authorization header: 431, not a crash', async (t) => {
  t.equal(await statusWith(`Basic ${'A'.repeat(20_000)}`), 431)
})

for (const user of users.filter((u) => u !== 'ordinary')) {
  t.test(`identity-encoding ${user}: logs in, and the app gets the name as UTF-8 bytes (never a 502)`, async (t) => {
    t.equal(await statusWith(`Basic ${basicToken(user, 'pw:with colon')}`), 200)
    const received = String(up.seen[0]?.headers['x-forwarded-user'] ?? '')
    // Node decodes header bytes as Latin-1, one character per byte: re-encoding gives back the bytes on the wire.
    t.equal(Buffer.from(received, 'latin1').toString('utf8'), user)
  })
}

t.test('no log line carries a password or an Authorization value', async (t) => {
  const logs = proxy.child.stdout + proxy.child.stderr
  t.notMatch(logs, /pw:with colon|YWxpY2U6cHc=|Basic [A-Za-z0-9+/=]{8,}/)
})
