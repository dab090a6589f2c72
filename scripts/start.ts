// `npm start`: runs the reference app and the proxy side by side, as in a Pod, with the DEMO credentials
// from demo/htpasswd (admin / admin1041). Ctrl-C (or SIGTERM) stops both; if either dies, the other is stopped.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function start (name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' })
  child.on('exit', (code, signal) => {
    process.stderr.write(`start: ${name} exited (${signal ?? code})\n`)
    stopAll()
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code ?? 0)
  })
  return child
}

const children = [
  start('hello', 'services/hello/dist/server.js', {}),
  start('auth-proxy', 'services/auth-proxy/dist/server.js', {
    HTPASSWD_FILE: process.env.HTPASSWD_FILE ?? 'demo/htpasswd',
    // No Service to leave locally: Ctrl-C should not wait the Kubernetes-sized delay.
    SHUTDOWN_DELAY: process.env.SHUTDOWN_DELAY ?? '0'
  })
]

function stopAll (): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
}
process.on('SIGINT', stopAll)
process.on('SIGTERM', stopAll)
process.stderr.write('start: hello on http://127.0.0.1:8080 (Pod-local), auth-proxy on http://localhost:8081 — try: curl -u admin:admin1041 http://localhost:8081/\n')
