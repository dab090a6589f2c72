// HTPASSWD_GROUPS_FILE: groups for the users of htpasswd and AUTH_USERNAME, in Apache's AuthGroupFile format —
// `group: user user …` per line, `#` comments, a group may span several lines — so rules (AUTHZ_RULES_FILE) and the
// app (GROUPS_HEADER) see groups for them as they do for LDAP and OpenID Connect users. Re-read when it changes,
// like the htpasswd file; a bad new version never replaces a good old one.
import { readFile } from 'node:fs/promises'
import { CredentialsLoadError } from '../../errors.ts'
import type { OperatorLog } from '../../log.ts'
import { cannotRead, WatchedFile } from '../../util/files.ts'
import type { Identity } from '../identity.ts'

const GROUP_RE = /^[^\s:,]+$/

/** User → groups, from the text of a group file; an error names the file and line. */
export function parseGroupFile (text: string, source: string): Map<string, string[]> {
  const byUser = new Map<string, string[]>()
  const lines = text.split('\n')
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    const group = line.slice(0, colon).trim()
    if (colon <= 0 || !GROUP_RE.test(group)) throw new CredentialsLoadError(`HTPASSWD_GROUPS_FILE: ${source} line ${i + 1}: expected "group: user user …"`)
    for (const user of line.slice(colon + 1).trim().split(/\s+/).filter((u) => u !== '')) {
      const groups = byUser.get(user) ?? []
      if (!groups.includes(group)) groups.push(group)
      byUser.set(user, groups)
    }
  }
  return byUser
}

async function readGroups (path: string): Promise<Map<string, string[]>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new CredentialsLoadError(cannotRead('HTPASSWD_GROUPS_FILE', path, err), { cause: err })
  }
  return parseGroupFile(text, path)
}

/** The backends whose users the file gives groups to (LDAP and OpenID Connect bring their own). */
const LOCAL_BACKENDS = new Set(['htpasswd', 'static'])

export class GroupFile {
  readonly #file: WatchedFile<Map<string, string[]>>

  private constructor (file: WatchedFile<Map<string, string[]>>) { this.#file = file }

  static async load (path: string, intervalMs: number, log?: OperatorLog): Promise<GroupFile> {
    return new GroupFile(await WatchedFile.load(path, intervalMs, readGroups, {
      log, reloaded: 'groups file reloaded', refused: 'groups file reload failed; keeping the previous groups', describe: (byUser) => ({ users: byUser.size })
    }))
  }

  get path (): string { return this.#file.path }

  async checkForChanges (): Promise<boolean> { return await this.#file.checkForChanges() }

  /** The identity with its groups from the file, for htpasswd and static users; others unchanged. */
  withGroups (identity: Identity): Identity {
    if (!LOCAL_BACKENDS.has(identity.backend)) return identity
    const groups = this.#file.value.get(identity.user)
    return groups === undefined ? identity : { ...identity, groups: [...new Set([...(identity.groups ?? []), ...groups])] }
  }

  close (): void { this.#file.close() }
}
