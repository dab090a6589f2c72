// AUTHZ_RULES_FILE: the rules as YAML, read at start-up (a bad file stops the start, naming every problem) and
// re-read when it changes, like the htpasswd Secret: a valid new version replaces the rules at once; a bad one is
// refused with the old rules kept, logged, and shown in /readyz until a good version comes.
import { readFile } from 'node:fs/promises'
import { RulesLoadError } from '../errors.ts'
import type { OperatorLog } from '../log.ts'
import { cannotRead, WatchedFile } from '../util/files.ts'
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
  readonly #file: WatchedFile<RuleSet>

  private constructor (file: WatchedFile<RuleSet>) { this.#file = file }

  static async load (path: string, intervalMs: number, log?: OperatorLog): Promise<RulesFile> {
    return new RulesFile(await WatchedFile.load(path, intervalMs, readRules, {
      log, reloaded: 'rules reloaded', refused: 'rules reload refused; keeping the previous rules', describe: (set) => ({ rules: set.rules.length })
    }))
  }

  get path (): string { return this.#file.path }

  /** The rules in force. */
  get current (): RuleSet { return this.#file.value }

  /** One check for a new version (tests; the poller runs it on its own). */
  async checkForChanges (): Promise<boolean> { return await this.#file.checkForChanges() }

  status (): RulesStatus {
    const f = this.#file
    return {
      file: f.path,
      rules: f.value.rules.length,
      reloads: f.reloads,
      reloadFailures: f.reloadFailures,
      ...(f.lastError !== undefined && { lastError: f.lastError })
    }
  }

  close (): void { this.#file.close() }
}

/** No rules file: everyone who logs in may do everything (PUBLIC_PATHS aside), as before there were rules. */
export const NO_RULES: RuleSet = Object.freeze({ rules: Object.freeze([]), fallback: DEFAULT_RULE })
