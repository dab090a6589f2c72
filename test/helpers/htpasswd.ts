// htpasswd files made by the real Apache `htpasswd` (Debian's apache2-utils), in a temp dir per test.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** `htpasswd -nb[B] -C cost user password` output, e.g. "admin:$2y$05$…". */
export function htpasswdLine (user: string, password: string, mode: '-B' | '-m' | '-s' = '-B', cost = 5): string {
  const args = ['-nb', mode, ...(mode === '-B' ? ['-C', String(cost)] : []), user, password]
  return execFileSync('htpasswd', args, { encoding: 'utf8' }).trim()
}

export interface TempDir { readonly path: string, file (name: string, content: string): string, remove (): void }

export function tempDir (): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'auth-proxy-test-'))
  return {
    path,
    file (name, content) { const p = join(path, name); writeFileSync(p, content); return p },
    remove () { rmSync(path, { recursive: true, force: true }) }
  }
}
