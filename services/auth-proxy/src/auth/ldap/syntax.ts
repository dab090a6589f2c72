// The two string syntaxes a user name is pasted into: distinguished names (RFC 4514) and search filters
// (RFC 4515). Escaping is what stops `admin)(uid=*` from widening a search or `a,ou=x` from moving a bind to
// another entry; the DN parser lets the proxy validate configured DNs and compare group DNs as the server would.

/**
 * RFC 4515 §3: in a filter's assertion value, `*`, `(`, `)`, `\` and NUL must be written as `\XX`. Every byte
 * outside printable ASCII is escaped too (by UTF-8 byte), so nothing the server might read specially survives.
 */
export function escapeFilterValue (value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += byte < 0x20 || byte > 0x7e || c === '*' || c === '(' || c === ')' || c === '\\'
      ? `\\${byte.toString(16).padStart(2, '0')}`
      : c
  }
  return out
}

/**
 * RFC 4514 §2.4: in an attribute value of a DN, `"`, `+`, `,`, `;`, `<`, `>`, `\` are escaped everywhere, as
 * are a leading space or `#`, a trailing space, `=` (recommended) and NUL. Control bytes are escaped as hex.
 */
export function escapeDnValue (value: string): string {
  let out = ''
  // Code points are what matters here (escaping is per character, and only ASCII ones are special).
  const chars = Array.from(value)
  chars.forEach((c, i) => {
    const code = c.codePointAt(0) ?? 0
    if (code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).padStart(2, '0')}`
    } else if ('"+,;<>\\='.includes(c) || (i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) {
      out += `\\${c}`
    } else {
      out += c
    }
  })
  return out
}

export interface Rdn { readonly type: string, readonly value: string }

const HEX_PAIR_RE = /^[0-9a-fA-F]{2}$/
const ATTRIBUTE_TYPE_RE = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/

/**
 * Parses a string DN (RFC 4514 §3) into its RDNs, values unescaped. Multi-valued RDNs (`a=1+b=2`) become
 * consecutive entries. Throws on anything malformed, so configured DNs are checked at start-up.
 */
export function parseDn (dn: string): Rdn[] {
  const rdns: Rdn[] = []
  if (dn.trim() === '') return rdns
  let i = 0
  const fail = (why: string): never => { throw new Error(`${why} at position ${i}`) }
  while (i <= dn.length) {
    // attributeType "="
    const eq = dn.indexOf('=', i)
    if (eq < 0) fail('expected "type=value"')
    const type = dn.slice(i, eq).trim()
    if (!ATTRIBUTE_TYPE_RE.test(type)) fail(`invalid attribute type "${type}"`)
    i = eq + 1
    // Unescaped spaces around a value are not part of it (RFC 4514 §3, and how servers read configured DNs).
    while (dn.charAt(i) === ' ') i++
    // attributeValue up to an unescaped "," or "+"
    const bytes: number[] = []
    let separator: string | undefined
    let trailingSpaces = 0
    while (i < dn.length) {
      const c = dn.charAt(i)
      if (c === ',' || c === '+') { separator = c; i++; break }
      if (c === '\\') {
        const pair = dn.slice(i + 1, i + 3)
        if (HEX_PAIR_RE.test(pair)) {
          bytes.push(parseInt(pair, 16))
          i += 3
        } else if (i + 1 < dn.length) {
          bytes.push(...Buffer.from(dn.charAt(i + 1), 'utf8'))
          i += 2
        } else {
          fail('dangling "\\"')
        }
        trailingSpaces = 0
        continue
      }
      if ('";<>'.includes(c)) fail(`unescaped "${c}"`)
      bytes.push(...Buffer.from(c, 'utf8'))
      trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0
      i++
    }
    const value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8')
    rdns.push({ type, value })
    if (separator === undefined) break
    if (i >= dn.length) fail('empty RDN after separator')
  }
  return rdns
}

/**
 * A form of a DN for comparing two spellings of the same name: attribute types and values lower-cased, escapes
 * resolved, spaces around separators dropped. Matches how directories compare the usual types (cn, ou, dc, uid
 * are case-insensitive). Unparseable input is compared as-is, lower-cased.
 */
export function normalizeDn (dn: string): string {
  try {
    return parseDn(dn).map((rdn) => `${rdn.type.toLowerCase()}=${escapeDnValue(rdn.value.toLowerCase())}`).join(',')
  } catch {
    return dn.trim().toLowerCase()
  }
}

/** The value of a DN's first RDN, e.g. `admins` for `cn=admins,ou=groups,dc=example,dc=org`: a group's name. */
export function firstRdnValue (dn: string): string | undefined {
  try {
    return parseDn(dn)[0]?.value
  } catch {
    return undefined
  }
}
