// AUTHZ_RULES_FILE: the rules as YAML, read at start-up (a bad file stops the start, naming every problem) and
// re-read when it changes, like the htpasswd Secret: a valid new version replaces the rules at once; a bad one is
// refused with the old rules kept, logged, and shown in /readyz until a good version comes.
import { readFile } from 'node:fs/promises'
import { RulesLoadError } from '../errors.ts'
import type { OperatorLog } from '../log.ts'
import { cannotRead, FilePoller, filesFingerprint } from '../util/files.ts'
import { DEFAULT_RULE, readRuleSet, type RuleSet } from './rules.ts'

export interface RulesStatus {
  readonly file: string
  readonly rules: number
  readonly reloads: number
  readonly reloadFailures: number
  readonly lastError?: string
}

async function readRules (path: string): Promise<RuleSet> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new RulesLoadError(cannotRead('AUTHZ_RULES_FILE', path, err), { cause: err })
  }
  // Loaded only when a rules file is configured: start-up time matters to a sidecar.
  const { parse } = await import('yaml')
  try {
    return readRuleSet(parse(text, { maxAliasCount: 100 }))
  } catch (err) {
    throw new RulesLoadError(`AUTHZ_RULES_FILE: ${path}: ${(err as Error).message}`, { cause: err })
  }
}

export class RulesFile {
  readonly path: string
  #set: RuleSet
  readonly #poller: FilePoller
  readonly #log: OperatorLog | undefined
  #reloads = 0
  #reloadFailures = 0
  #lastError: string | undefined

  private constructor (path: string, set: RuleSet, log: OperatorLog | undefined) {
    this.path = path
    this.#set = set
    this.#log = log
    this.#poller = new FilePoller([path], async () => await this.#reload())
  }

  static async load (path: string, intervalMs: number, log?: OperatorLog): Promise<RulesFile> {
    const seen = await filesFingerprint([path]) // before reading: a change meanwhile is seen at the first check
    const file = new RulesFile(path, await readRules(path), log)
    file.#poller.prime(seen)
    file.#poller.start(intervalMs)
    return file
  }

  /** The rules in force. */
  get current (): RuleSet { return this.#set }

  /** One check for a new version (tests; the poller runs it on its own). */
  async checkForChanges (): Promise<boolean> { return await this.#poller.check() }

  async #reload (): Promise<boolean> {
    try {
      this.#set = await readRules(this.path)
    } catch (err) {
      this.#reloadFailures++
      this.#lastError = (err as Error).message
      this.#log?.error({ file: this.path, err: { message: this.#lastError } }, 'rules reload refused; keeping the previous rules')
      return false
    }
    this.#reloads++
    this.#lastError = undefined
    this.#log?.info({ file: this.path, rules: this.#set.rules.length }, 'rules reloaded')
    return true
  }

  status (): RulesStatus {
    return {
      file: this.path,
      rules: this.#set.rules.length,
      reloads: this.#reloads,
      reloadFailures: this.#reloadFailures,
      ...(this.#lastError !== undefined && { lastError: this.#lastError })
    }
  }

  close (): void { this.#poller.stop() }
}

/** No rules file: everyone who logs in may do everything (PUBLIC_PATHS aside), as before there were rules. */
export const NO_RULES: RuleSet = Object.freeze({ rules: Object.freeze([]), fallback: DEFAULT_RULE })
