// Escaping and DN parsing, checked against the RFCs' own examples (the real-directory proof is in ldap.test.ts).
import t from 'tap'
import { escapeDnValue, escapeFilterValue, firstRdnValue, normalizeDn, parseDn } from '../../../../services/auth-proxy/src/auth/ldap/syntax.ts'

t.test('RFC 4515 §4 examples: filter values', async (t) => {
  t.equal(escapeFilterValue('Parens R Us (for all your parenthetical needs)'), 'Parens R Us \\28for all your parenthetical needs\\29')
  t.equal(escapeFilterValue('*'), '\\2a')
  t.equal(escapeFilterValue('C:\\MyFile'), 'C:\\5cMyFile')
  t.equal(escapeFilterValue('\0\0\0\x04'), '\\00\\00\\00\\04')
  t.equal(escapeFilterValue('Lu\u010di\u0107'), 'Lu\\c4\\8di\\c4\\87', 'non-ASCII by UTF-8 byte')
  t.equal(escapeFilterValue('admin)(uid=*'), 'admin\\29\\28uid=\\2a')
})

t.test('RFC 4514 §2.4: DN values', async (t) => {
  t.equal(escapeDnValue('Sue, Grabbit and Runn'), 'Sue\\, Grabbit and Runn')
  t.equal(escapeDnValue('a+b=c;d<e>f"g\\h'), 'a\\+b\\=c\\;d\\<e\\>f\\"g\\\\h')
  t.equal(escapeDnValue(' lead'), '\\ lead')
  t.equal(escapeDnValue('trail '), 'trail\\ ')
  t.equal(escapeDnValue('#hash'), '\\#hash')
  t.equal(escapeDnValue('mid # dle'), 'mid # dle')
  t.equal(escapeDnValue('nul\0'), 'nul\\00')
  t.equal(escapeDnValue('Lučić'), 'Lučić', 'UTF-8 as is')
})

t.test('parseDn unescapes, and escape→parse gives back the value', async (t) => {
  t.same(parseDn('CN=Steve Kille,O=Isode Limited,C=GB'), [{ type: 'CN', value: 'Steve Kille' }, { type: 'O', value: 'Isode Limited' }, { type: 'C', value: 'GB' }])
  t.same(parseDn('OU=Sales+CN=J.  Smith,DC=example'), [{ type: 'OU', value: 'Sales' }, { type: 'CN', value: 'J.  Smith' }, { type: 'DC', value: 'example' }])
  t.same(parseDn('CN=Before\\0dAfter,DC=example'), [{ type: 'CN', value: 'Before\rAfter' }, { type: 'DC', value: 'example' }])
  t.same(parseDn('CN=Lu\\C4\\8Di\\C4\\87'), [{ type: 'CN', value: 'Lučić' }])
  for (const value of ['a,b', ' x ', '#y', 'q"u+o=t;e<>\\', 'ok']) {
    t.equal(parseDn(`uid=${escapeDnValue(value)},dc=x`)[0]?.value, value, JSON.stringify(value))
  }
  t.same(parseDn(''), [])
  for (const bad of ['uid', 'uid=a,', '=a', 'uid=a;b', 'uid=a\\', 'u id=a']) t.throws(() => parseDn(bad), bad)
})

t.test('normalizeDn: case, spaces around separators and escapes do not matter; firstRdnValue names a group', async (t) => {
  t.equal(normalizeDn('CN=Admins, OU=Groups, DC=Example'), normalizeDn('cn=admins,ou=groups,dc=example'))
  t.equal(normalizeDn('cn=a\\2cb,dc=x'), normalizeDn('cn=a\\,b,dc=x'))
  t.not(normalizeDn('cn=a,b=c'), normalizeDn('cn=a\\,b=c'))
  t.equal(firstRdnValue('cn=research\\, data,ou=groups,dc=x'), 'research, data')
  t.equal(firstRdnValue('not a dn'), undefined)
})
