// The real auth-proxy process (dist/server.js) on free loopback ports, as the hostile-HTTP suite attacks it.
import { runService, type Child } from './process.ts'
import { freePort } from './upstream.ts'

export interface ProxyProcess {
  readonly port: number
  readonly url: string
  readonly mgmt: string
  readonly child: Child
  /** Every JSON log line so far. */
  logLines (): Array<Record<string, unknown>>
  stop (): Promise<void>
}

export async function startProxyProcess (env: Record<string, string>): Promise<ProxyProcess> {
  const [port, mgmtPort] = [await freePort(), await freePort()]
  const child = runService('auth-proxy', {
    LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port), MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(mgmtPort), ...env
  })
  await child.waitFor(new RegExp(`listening at http://127.0.0.1:${mgmtPort}`))
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    mgmt: `http://127.0.0.1:${mgmtPort}`,
    child,
    logLines: () => child.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      if (child.process.exitCode === null) child.process.kill('SIGKILL')
      await child.exited
    }
  }
}
