// Secrets mounted as files (Kubernetes Secret volumes): passwords, the LDAP bind password, OIDC secrets.
import { readFile } from 'node:fs/promises'
import { CredentialsLoadError } from '../errors.ts'
import { cannotRead } from './files.ts'
import { hasControlCharacters } from '../config/auth.ts'

/**
 * Reads a password or secret file (AUTH_PASSWORD_FILE, LDAP_BIND_PASSWORD_FILE, OIDC_CLIENT_SECRET_FILE,
 * SESSION_SECRET_FILE). One trailing newline (as `echo` or an editor writes it) is not part of the password.
 * Errors name the variable, never the content.
 */
export async function readPasswordFile (path: string, variable = 'AUTH_PASSWORD_FILE'): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new CredentialsLoadError(cannotRead(variable, path, err), { cause: err })
  }
  const password = text.replace(/\r?\n$/, '')
  if (password === '') throw new CredentialsLoadError(`${variable}: ${path} is empty`)
  if (hasControlCharacters(password)) {
    throw new CredentialsLoadError(`${variable}: ${path} contains control characters or more than one line`)
  }
  return password
}
