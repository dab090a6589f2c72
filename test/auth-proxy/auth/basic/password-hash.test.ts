// Every htpasswd format users bring, against output of the real tools: Apache's htpasswd in each of its modes
// (-B bcrypt, -m apr1, -s {SHA}) and OpenSSL (passwd -apr1; SHA-1 digests for {SSHA}).
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { HtpasswdBackend } from '../../../../services/auth-proxy/src/auth/basic/htpasswd.ts'
import { apr1Scheme, bcryptScheme, detectScheme, shaScheme, sshaScheme } from '../../../../services/auth-proxy/src/auth/basic/password-hash.ts'
import { basic, send } from '../../../helpers/http.ts'
import { htpasswdLine, tempDir } from '../../../helpers/htpasswd.ts'
import { startProxy } from '../../../helpers/proxy.ts'
import { startUpstream } from '../../../helpers/upstream.ts'

const PASSWORDS = ['admin1041', 'pässwörd ✓', 'with:colon and spaces', 'x']

function hashOf (line: string): string { return line.slice(line.indexOf(':') + 1) }

function opensslApr1 (password: string): string {
  return execFileSync('openssl', ['passwd', '-apr1', password], { encoding: 'utf8' }).trim()
}

/** {SSHA} as nginx guides make it: base64(SHA1(password + salt) + salt), with OpenSSL doing the SHA-1. */
function opensslSsha (password: string): string {
  const salt = execFileSync('openssl', ['rand', '8'])
  const digest = execFileSync('openssl', ['dgst', '-sha1', '-binary'], { input: Buffer.concat([Buffer.from(password, 'utf8'), salt]) })
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`
}

const MAKERS: Array<[string, (pw: string) => string, typeof bcryptScheme]> = [
  ['htpasswd -B (bcrypt $2y$)', (pw) => hashOf(htpasswdLine('u', pw, '-B', 4)), bcryptScheme],
  ['htpasswd -m (apr1)', (pw) => hashOf(htpasswdLine('u', pw, '-m')), apr1Scheme],
  ['openssl passwd -apr1', opensslApr1, apr1Scheme],
  ['htpasswd -s ({SHA})', (pw) => hashOf(htpasswdLine('u', pw, '-s')), shaScheme],
  ['openssl-made {SSHA}', opensslSsha, sshaScheme]
]

for (const [maker, make, scheme] of MAKERS) {
  t.test(`${maker}: detected as ${scheme.name}, right passwords verify, wrong ones do not`, async (t) => {
    for (const password of PASSWORDS) {
      const hash = make(password)
      t.equal(detectScheme(hash), scheme, `${JSON.stringify(password)} detected`)
      t.equal(await scheme.verify(password, hash), true, `${JSON.stringify(password)} verifies`)
      t.equal(await scheme.verify(`${password}!`, hash), false, 'one character more fails')
      t.equal(await scheme.verify(password.slice(0, -1), hash), false, 'one character less fails')
      t.equal(await scheme.verify(password.toUpperCase() === password ? password.toLowerCase() : password.toUpperCase(), hash), false, 'case matters')
    }
  })
}

t.test('weak schemes are marked weak; bcrypt is not', async (t) => {
  t.equal(bcryptScheme.weak, false)
  for (const s of [apr1Scheme, shaScheme, sshaScheme]) t.equal(s.weak, true, s.name)
})

t.test('malformed hashes of each scheme are not recognised', async (t) => {
  const good = { bcrypt: hashOf(htpasswdLine('u', 'p', '-B', 4)), apr1: opensslApr1('p'), sha: hashOf(htpasswdLine('u', 'p', '-s')) }
  for (const bad of [
    good.bcrypt.replace('$04$', '$03$'), good.bcrypt.replace('$04$', '$32$'), `${good.bcrypt}x`, good.bcrypt.replace('$2y$', '$2x$'),
    good.apr1.slice(0, -1), good.apr1.replace('$apr1$', '$1$'), `${good.apr1}A`,
    good.sha.slice(0, -2), '{SHA}', '{SSHA}AAAA', '{SSHA}!!!!', '{MD5}abc', '$5$rounds=5000$salt$hash', 'plaintext', 'abJnggxhB/yWI' // crypt(3) DES
  ]) t.equal(detectScheme(bad), undefined, bad)
})

t.test('all four formats in one file authenticate through the proxy; weak ones are named in one warning', async (t) => {
  const dir = tempDir()
  const upstream = await startUpstream()
  const file = dir.file('htpasswd', [
    '# made by the real tools',
    htpasswdLine('bea', 'bcrypt-pw', '-B', 5),
    htpasswdLine('abe', 'apr1-pw', '-m'),
    `ossl:${opensslApr1('openssl-pw')}`,
    htpasswdLine('sam', 'sha-pw', '-s'),
    `sal:${opensslSsha('ssha-pw')}`
  ].join('\n'))
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: file })
  t.teardown(async () => { await proxy.close(); await upstream.close(); dir.remove() })
  for (const [user, password] of [['bea', 'bcrypt-pw'], ['abe', 'apr1-pw'], ['ossl', 'openssl-pw'], ['sam', 'sha-pw'], ['sal', 'ssha-pw']]) {
    const ok = await send(`${proxy.url}/`, { headers: { authorization: basic(user ?? '', password ?? '') } })
    t.equal(ok.status, 200, `${user ?? ''} in`)
    const no = await send(`${proxy.url}/`, { headers: { authorization: basic(user ?? '', `${password ?? ''}?`) } })
    t.equal(no.status, 401, `${user ?? ''} with a wrong password out`)
  }
  const warnings = proxy.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('weak password hashes'))
  t.equal(warnings.length, 1)
  t.same(warnings[0]?.users, ['abe', 'ossl', 'sam', 'sal'])
  t.same(warnings[0]?.schemes, ['apr1', 'sha', 'ssha'])
})

t.test('a bcrypt-only file logs no weak-hash warning', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const warned: string[] = []
  const log = { info: () => {}, error: () => {}, warn: (_o: object, msg: string) => { warned.push(msg) } }
  await HtpasswdBackend.load(dir.file('h', htpasswdLine('bea', 'pw', '-B', 4)), log)
  t.same(warned, [])
})
