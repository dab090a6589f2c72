// Files the proxy reads and re-reads — the htpasswd Secret, TLS certificates, password files — in one place:
// what identifies a version of a file, the poller that notices a new one, and the message when one cannot be read.
import { stat } from 'node:fs/promises'
import type { OperatorLog } from '../log.ts'

/**
 * What identifies one version of a file. stat() follows symlinks, so Kubernetes' atomic swap of a Secret volume's
 * `..data` link changes the inode even though the path stays the same; size and times catch in-place rewrites.
 */
export async function fileFingerprint (path: string): Promise<string> {
  try {
    const s = await stat(path)
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? ''}`
  }
}

/** The fingerprint of a set of files, as FilePoller compares them: take it before reading them. */
export async function filesFingerprint (paths: readonly string[]): Promise<string> {
  return (await Promise.all(paths.map(fileFingerprint))).join('|')
}

/** "HTPASSWD_FILE: cannot read /path (ENOENT)": the variable and the path, never the content. */
export function cannotRead (variable: string, path: string, err: unknown): string {
  return `${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`
}

/**
 * Checks `paths` every interval and calls `changed` when any of them is a new version; `changed` says whether it
 * took it. One check at a time; the timer never keeps the process alive.
 */
export class FilePoller {
  readonly #paths: readonly string[]
  readonly #changed: () => Promise<boolean>
  #seen: string | undefined
  #checking = false
  #timer: NodeJS.Timeout | undefined

  constructor (paths: readonly string[], changed: () => Promise<boolean>) {
    this.#paths = paths
    this.#changed = changed
  }

  /**
   * Takes `seen` — the fingerprint taken *before* the files were read (filesFingerprint) — as the version loaded,
   * so a change made while they were being read is noticed at the first check rather than missed for good.
   */
  prime (seen: string): void { this.#seen = seen }

  async #fingerprint (): Promise<string> { return await filesFingerprint(this.#paths) }

  /** One check; resolves true when a new version was taken. */
  async check (): Promise<boolean> {
    if (this.#checking) return false
    this.#checking = true
    try {
      const now = await this.#fingerprint()
      if (this.#seen === undefined) { this.#seen = now; return false }
      if (now === this.#seen) return false
      this.#seen = now
      return await this.#changed()
    } finally {
      this.#checking = false
    }
  }

  start (intervalMs: number): void {
    this.#timer ??= setInterval(() => { void this.check() }, intervalMs).unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

/** What a WatchedFile logs: the messages for a version taken and one refused, and the fields describing a value. */
export interface WatchedFileLog<T> {
  readonly log: OperatorLog | undefined
  readonly reloaded: string
  readonly refused: string
  readonly describe: (value: T) => Record<string, unknown>
}

/**
 * A file read at start-up (a bad one stops the start: `read` throws) and re-read when it changes, like the
 * htpasswd Secret: a good new version replaces the value at once; a bad one is refused with the old value kept,
 * logged, and kept as `lastError` (for /readyz) until a good version comes. The rules and groups files are two.
 */
export class WatchedFile<T> {
  readonly path: string
  #value: T
  readonly #read: (path: string) => Promise<T>
  readonly #poller: FilePoller
  readonly #log: WatchedFileLog<T>
  reloads = 0
  reloadFailures = 0
  lastError: string | undefined

  private constructor (path: string, value: T, read: (path: string) => Promise<T>, log: WatchedFileLog<T>) {
    this.path = path
    this.#value = value
    this.#read = read
    this.#log = log
    this.#poller = new FilePoller([path], async () => await this.#reload())
  }

  static async load<T> (path: string, intervalMs: number, read: (path: string) => Promise<T>, log: WatchedFileLog<T>): Promise<WatchedFile<T>> {
    const seen = await filesFingerprint([path]) // before reading: a change meanwhile is seen at the first check
    const file = new WatchedFile(path, await read(path), read, log)
    file.#poller.prime(seen)
    file.#poller.start(intervalMs)
    return file
  }

  /** The version in force. */
  get value (): T { return this.#value }

  /** One check for a new version (tests; the poller runs it on its own). */
  async checkForChanges (): Promise<boolean> { return await this.#poller.check() }

  async #reload (): Promise<boolean> {
    try {
      this.#value = await this.#read(this.path)
    } catch (err) {
      this.reloadFailures++
      this.lastError = (err as Error).message
      this.#log.log?.error({ file: this.path, err: { message: this.lastError } }, this.#log.refused)
      return false
    }
    this.reloads++
    this.lastError = undefined
    this.#log.log?.info({ file: this.path, ...this.#log.describe(this.#value) }, this.#log.reloaded)
    return true
  }

  close (): void { this.#poller.stop() }
}
