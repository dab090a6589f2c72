// One user from AUTH_USERNAME with AUTH_PASSWORD or AUTH_PASSWORD_FILE: the simplest way to protect an app.
import type { StaticCredentialsConfig } from '../../config/auth.ts'
import { CredentialsLoadError } from '../../errors.ts'
import { constantTimeEqual } from './constant-time.ts'
import { readPasswordFile } from '../../util/secret-file.ts'
import type { PasswordVerifier } from '../verifier.ts'
import type { Identity } from '../identity.ts'

export const STATIC_BACKEND_NAME = 'static'

export class StaticCredentials implements PasswordVerifier {
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

  has (user: string): boolean { return constantTimeEqual(user, this.#username) }

  ready (): boolean { return true }
}
