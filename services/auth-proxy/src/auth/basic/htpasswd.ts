// htpasswd files: `user:hash` per line, as written by Apache's htpasswd, openssl passwd or `auth-proxy hash`.
// The file is re-read when it changes — including Kubernetes' atomic swap of the `..data` symlink in a mounted
// Secret — so passwords rotate without a restart. A bad new version never replaces a good old one.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { CredentialsLoadError } from '../../errors.ts'
import { cannotRead, FilePoller, filesFingerprint } from '../../util/files.ts'
import { detectScheme, type HashScheme } from './password-hash.ts'
import type { OperatorLog } from '../../log.ts'
import type { PasswordVerifier, ReloadCounts } from '../verifier.ts'
import type { Identity } from '../identity.ts'

export const HTPASSWD_BACKEND_NAME = 'htpasswd'

export interface HtpasswdEntry {
  readonly user: string
  readonly hash: string
  readonly scheme: HashScheme
}

/** The few logger methods the backend uses (pino's signature). */

export interface HtpasswdStatus {
  readonly file: string
  readonly users: number
  /** Increases on every successful reload; verify caches compare it to drop what they learnt before. */
  readonly generation: number
  readonly reloads: number
  readonly reloadFailures: number
  /** Password hashes actually computed (verify-cache misses, unknown users' dummies included). */
  readonly verifications: number
  /** Why the newest version of the file was refused (the previous one stays in force), if it was. */
  readonly lastReloadError?: string
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

interface Snapshot {
  readonly entries: Map<string, HtpasswdEntry>
  readonly dummy: HtpasswdEntry
  readonly digest: string
}

async function readSnapshot (path: string): Promise<Snapshot> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new CredentialsLoadError(cannotRead('HTPASSWD_FILE', path, err), { cause: err })
  }
  const entries = parseHtpasswd(text, path)
  // Unknown users are verified against a typical user's own hash: the same scheme and cost, so the same time,
  // and nothing to compute at start-up (a fresh bcrypt hash would cost as much as a login). The result is
  // discarded for unknown users, so which hash it is does not matter, only what it costs.
  const dummy = typicalHash(entries)
  return { entries, dummy, digest: createHash('sha256').update(text).digest('hex') }
}

export class HtpasswdBackend implements PasswordVerifier {
  readonly name = HTPASSWD_BACKEND_NAME
  readonly path: string
  /** Password verifications actually run (cache misses and dummies included): the expensive part. */
  verifications = 0
  #snapshot: Snapshot
  readonly #poller: FilePoller
  #generation = 1
  #reloads = 0
  #reloadFailures = 0
  #lastReloadError: string | undefined
  readonly #log: OperatorLog | undefined

  private constructor (path: string, snapshot: Snapshot, log: OperatorLog | undefined) {
    this.path = path
    this.#snapshot = snapshot
    this.#log = log
    this.#poller = new FilePoller([path], async () => await this.#reload())
    this.#warnAboutWeakHashes()
  }

  static async load (path: string, log?: OperatorLog): Promise<HtpasswdBackend> {
    const seen = await filesFingerprint([path]) // before reading: a change meanwhile is seen at the first check
    const backend = new HtpasswdBackend(path, await readSnapshot(path), log)
    backend.#poller.prime(seen)
    return backend
  }

  /** Checks the file every `intervalMs` and swaps in a new valid version. The timer never keeps the process alive. */
  watch (intervalMs: number): void {
    this.#poller.start(intervalMs)
  }

  /** One check: reloads when the file's identity changed. Resolves true when a new version was taken. */
  async checkForChanges (): Promise<boolean> { return await this.#poller.check() }

  async #reload (): Promise<boolean> {
    let next: Snapshot
    try {
      next = await readSnapshot(this.path)
    } catch (err) {
      this.#reloadFailures++
      this.#lastReloadError = (err as Error).message
      this.#log?.error({ file: this.path, err: { message: this.#lastReloadError } }, 'htpasswd reload failed; keeping the previous users')
      return false
    }
    this.#lastReloadError = undefined
    if (next.digest === this.#snapshot.digest) return false // touched, not changed
    this.#snapshot = next
    this.#generation++
    this.#reloads++
    this.#log?.info({ file: this.path, users: next.entries.size }, 'htpasswd reloaded')
    this.#warnAboutWeakHashes()
    return true
  }

  #warnAboutWeakHashes (): void {
    const weak = [...this.#snapshot.entries.values()].filter((e) => e.scheme.weak)
    if (weak.length === 0) return
    this.#log?.warn({
      file: this.path,
      users: weak.map((e) => e.user),
      schemes: [...new Set(weak.map((e) => e.scheme.name))]
    }, 'htpasswd has users with weak password hashes (apr1, {SHA} or {SSHA}); re-hash them with bcrypt: auth-proxy hash USER')
  }

  get size (): number { return this.#snapshot.entries.size }

  generation (): number { return this.#generation }

  status (): HtpasswdStatus {
    return {
      file: this.path,
      users: this.size,
      generation: this.#generation,
      reloads: this.#reloads,
      reloadFailures: this.#reloadFailures,
      verifications: this.verifications,
      ...(this.#lastReloadError !== undefined && { lastReloadError: this.#lastReloadError })
    }
  }

  reloadCounts (): ReloadCounts { return { success: this.#reloads, failure: this.#reloadFailures } }

  async verify (user: string, password: string): Promise<Identity | null> {
    const { entries, dummy } = this.#snapshot
    const entry = entries.get(user)
    // An unknown user still pays for one verification, so response time does not reveal which users exist.
    const target = entry ?? dummy
    this.verifications++
    const ok = await target.scheme.verify(password, target.hash)
    return ok && entry !== undefined ? { user: entry.user, backend: this.name } : null
  }

  has (user: string): boolean { return this.#snapshot.entries.has(user) }

  ready (): boolean { return this.size > 0 }

  close (): Promise<void> {
    this.#poller.stop()
    return Promise.resolve()
  }
}
