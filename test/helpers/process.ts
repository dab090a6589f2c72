// Runs a service's built entry point as a real child process, as Kubernetes would.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Child {
  readonly process: ChildProcessWithoutNullStreams
  stdout: string
  stderr: string
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Resolves once `pattern` has appeared on stdout or stderr. */
  waitFor (pattern: RegExp, timeoutMs?: number): Promise<void>
}

export function runService (service: 'hello' | 'auth-proxy', env: Record<string, string>): Child {
  const child = spawn(process.execPath, [`services/${service}/dist/server.js`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env }
  })
  const result: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => { resolve(code ?? signal ?? -1) })),
    async waitFor (pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (!pattern.test(result.stdout + result.stderr)) {
        if (child.exitCode !== null) throw new Error(`${service} exited before ${pattern.source}: ${result.stderr}`)
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern.source}: ${result.stdout}${result.stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  }
  child.stdout.on('data', (chunk: Buffer) => { result.stdout += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { result.stderr += chunk.toString('utf8') })
  return result
}
