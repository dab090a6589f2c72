// One user from AUTH_USERNAME with AUTH_PASSWORD or AUTH_PASSWORD_FILE: the simplest way to protect an app.
import { readFile } from 'node:fs/promises'
import { hasControlCharacters, type StaticCredentialsConfig } from './auth-config.ts'
import { CredentialsLoadError } from '../errors.ts'
import type { CredentialBackend, Identity } from './backend.ts'
import { constantTimeEqual } from './constant-time.ts'

export const STATIC_BACKEND_NAME = 'static'

/**
 * Reads a password file (AUTH_PASSWORD_FILE, LDAP_BIND_PASSWORD_FILE). One trailing newline (as `echo` or an
 * editor writes it) is not part of the password. Errors name the variable, never the content.
 */
export async function readPasswordFile (path: string, variable = 'AUTH_PASSWORD_FILE'): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new CredentialsLoadError(`${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
  }
  const password = text.replace(/\r?\n$/, '')
  if (password === '') throw new CredentialsLoadError(`${variable}: ${path} is empty`)
  if (hasControlCharacters(password)) {
    throw new CredentialsLoadError(`${variable}: ${path} contains control characters or more than one line`)
  }
  return password
}

export class StaticCredentials implements CredentialBackend {
  readonly name = STATIC_BACKEND_NAME
  readonly #username: string
  readonly #password: string

  private constructor (username: string, password: string) {
    this.#username = username
    this.#password = password
  }

  static async load (config: StaticCredentialsConfig): Promise<StaticCredentials> {
    const password = config.passwordFile !== undefined ? await readPasswordFile(config.passwordFile) : config.password
    if (password === undefined) throw new CredentialsLoadError('AUTH_PASSWORD: no password configured')
    return new StaticCredentials(config.username, password)
  }

  verify (user: string, password: string): Promise<Identity | null> {
    // Both comparisons always run so the time taken does not tell whether the user name was right.
    const userOk = constantTimeEqual(user, this.#username)
    const passwordOk = constantTimeEqual(password, this.#password)
    return Promise.resolve(userOk && passwordOk ? { user: this.#username, backend: this.name } : null)
  }

  ready (): boolean { return true }
}
