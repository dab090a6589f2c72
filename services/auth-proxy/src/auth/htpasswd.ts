// htpasswd files: `user:hash` per line, as written by Apache's htpasswd, openssl passwd or our `hash` command.
import { readFile } from 'node:fs/promises'
import { CredentialsLoadError } from '../errors.ts'
import type { CredentialBackend, Identity } from './backend.ts'
import { detectScheme, type HashScheme } from './password-hash.ts'

export const HTPASSWD_BACKEND_NAME = 'htpasswd'

export interface HtpasswdEntry {
  readonly user: string
  readonly hash: string
  readonly scheme: HashScheme
}

/**
 * Parses the text of an htpasswd file. Blank lines and `#` comments are allowed. Any malformed line, unknown
 * scheme or duplicate user rejects the whole file with an error naming the file and line — never the hash.
 */
export function parseHtpasswd (text: string, source: string): Map<string, HtpasswdEntry> {
  const entries = new Map<string, HtpasswdEntry>()
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim()
    if (line === '' || line.startsWith('#')) continue
    const where = `HTPASSWD_FILE: ${source} line ${i + 1}`
    const colon = line.indexOf(':')
    if (colon <= 0) throw new CredentialsLoadError(`${where}: expected "user:hash"`)
    const user = line.slice(0, colon)
    const hash = line.slice(colon + 1)
    if (hash === '' || hash.includes(':')) throw new CredentialsLoadError(`${where}: expected "user:hash" for user "${user}"`)
    const scheme = detectScheme(hash)
    if (scheme === undefined) throw new CredentialsLoadError(`${where}: unsupported or malformed password hash for user "${user}"`)
    if (entries.has(user)) throw new CredentialsLoadError(`${where}: user "${user}" appears more than once`)
    entries.set(user, { user, hash, scheme })
  }
  if (entries.size === 0) throw new CredentialsLoadError(`HTPASSWD_FILE: ${source} has no users`)
  return entries
}

/** The hash most users have, so an unknown user costs what a typical wrong password costs. */
function typicalHash (entries: Map<string, HtpasswdEntry>): HtpasswdEntry {
  const counts = new Map<string, { entry: HtpasswdEntry, n: number }>()
  let best: { entry: HtpasswdEntry, n: number } | undefined
  for (const entry of entries.values()) {
    const key = `${entry.scheme.name}:${entry.hash.slice(0, 7)}` // scheme plus cost prefix for bcrypt
    const seen = { entry, n: (counts.get(key)?.n ?? 0) + 1 }
    counts.set(key, seen)
    if (best === undefined || seen.n > best.n) best = seen
  }
  if (best === undefined) throw new CredentialsLoadError('HTPASSWD_FILE: no users')
  return best.entry
}

export class HtpasswdBackend implements CredentialBackend {
  readonly name = HTPASSWD_BACKEND_NAME
  readonly path: string
  #entries: Map<string, HtpasswdEntry>
  #dummy: HtpasswdEntry

  private constructor (path: string, entries: Map<string, HtpasswdEntry>, dummy: HtpasswdEntry) {
    this.path = path
    this.#entries = entries
    this.#dummy = dummy
  }

  static async load (path: string): Promise<HtpasswdBackend> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      throw new CredentialsLoadError(`HTPASSWD_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
    }
    const entries = parseHtpasswd(text, path)
    const typical = typicalHash(entries)
    const dummy = { user: '', hash: await typical.scheme.dummyLike(typical.hash), scheme: typical.scheme }
    return new HtpasswdBackend(path, entries, dummy)
  }

  /** Users whose hashes use a weak scheme, for a start-up warning. */
  weakUsers (): string[] {
    return [...this.#entries.values()].filter((e) => e.scheme.weak).map((e) => e.user)
  }

  get size (): number { return this.#entries.size }

  async verify (user: string, password: string): Promise<Identity | null> {
    const entry = this.#entries.get(user)
    // An unknown user still pays for one verification, so response time does not reveal which users exist.
    const target = entry ?? this.#dummy
    const ok = await target.scheme.verify(password, target.hash)
    return ok && entry !== undefined ? { user: entry.user, backend: this.name } : null
  }

  ready (): boolean { return this.#entries.size > 0 }
}
