// The systems under test, each started fresh on a loopback port: the app alone (the ceiling), nginx as the
// tutorial's sidecar (auth_basic + proxy_pass with upstream keepalive), Caddy with bcrypt and its hash cache,
// and our auth-proxy. One worker / one process / GOMAXPROCS=1 each: like with like.
import { spawn, type ChildProcess } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { NODE_FLAGS } from '../services/auth-proxy/src/node-flags.ts'
import { freePort } from '../test/helpers/upstream.ts'

export const ROOT = new URL('..', import.meta.url).pathname

export interface Running { readonly url: string, readonly pid: number, stop (): Promise<void> }

/**
 * CPU pinning (taskset), on by default with two or more CPUs: each system under test (nginx, Caddy, auth-proxy —
 * every thread of it) gets CPU 0 to itself, and the load generator shares CPU 1 with the app. Unpinned, the
 * scheduler kept moving the proxy onto the CPU of the app or wrk, and the same build measured anywhere from 5.5k
 * to 8.6k req/s within a minute (pinned: 10.0k-10.8k). The app + wrk CPU also caps every proxy: the
 * "upstream direct" row, measured on that CPU, is the ceiling. BENCH_PIN=0 turns it off.
 */
function canPin (): boolean {
  if (process.env.BENCH_PIN === '0' || availableParallelism() < 2) return false
  try { execFileSync('taskset', ['-c', '0', 'true']); return true } catch { return false }
}
export const PINNED = canPin()
export type Cpu = 'system' | 'driver'
/** The command line that runs `cmd` on the CPU for its role (unchanged when not pinning). */
export function onCpu (cpu: Cpu, cmd: string, args: string[]): [string, string[]] {
  return PINNED ? ['taskset', ['-c', cpu === 'system' ? '0' : '1', cmd, ...args]] : [cmd, args]
}

const children = new Set<ChildProcess>()
export function killAll (): void { for (const c of children) c.kill('SIGKILL') }


export function startProcess (cpu: Cpu, command: string, commandArgs: string[], env: Record<string, string> = {}): ChildProcess {
  const [cmd, args] = onCpu(cpu, command, commandArgs)
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000) })
  child.on('exit', (code) => { children.delete(child); if (code !== 0 && code !== null) process.stderr.write(`bench: ${cmd} exited ${code}: ${stderr}\n`) })
  children.add(child)
  return child
}

async function stopProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))])
  child.kill('SIGKILL')
}

/** Resolves once `url` answers `expect` with the given Authorization, or throws after 15 s. */
/** `pollMs`: how often to ask (start-to-ready polls every 5 ms, so the poll does not round the measure up). */
export async function waitFor (url: string, authorization: string | undefined, expect = 200, pollMs = 50): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      request(url, { agent: false, headers: authorization === undefined ? {} : { authorization } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
        .on('error', () => { resolve(0) }).end()
    })
    if (status === expect) return
    if (Date.now() > deadline) throw new Error(`${url} answered ${status}, expected ${expect}`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

/** A started child as a Running: its URL, pid, and a stop() that waits for it to exit. */
export function running (url: string, child: ChildProcess): Running {
  return { url, pid: child.pid ?? 0, stop: async () => { await stopProcess(child) } }
}

export async function startHello (): Promise<Running> {
  const port = await freePort()
  const child = startProcess('driver', process.execPath, [join(ROOT, 'services/hello/dist/server.js')], { PORT: String(port), LOG_LEVEL: 'warn' })
  const url = `http://127.0.0.1:${port}/`
  await waitFor(url, undefined)
  return running(url, child)
}

/**
 * `websocket`: the usual WebSocket reverse-proxy headers (nginx.org/en/docs/http/websocket.html) in place of the
 * keep-alive `Connection ""`, for bench/websocket.ts; everything else is the same sidecar.
 */
export async function startNginx (workDir: string, upstream: string, htpasswdFile: string, authorization: string, options: { websocket?: boolean } = {}): Promise<Running> {
  const port = await freePort()
  const dir = join(workDir, `nginx-${port}`)
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  chmodSync(workDir, 0o755)
  const up = new URL(upstream)
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  upstream app { server ${up.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    auth_basic "Restricted";
    auth_basic_user_file ${htpasswdFile};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
${options.websocket === true ? '      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection "upgrade";' : '      proxy_set_header Connection "";'}
    }
  }
}
`)
  const child = startProcess('system', 'nginx', ['-e', `${dir}/error.log`, '-p', dir, '-c', conf])
  const url = `http://127.0.0.1:${port}/`
  await waitFor(url, authorization)
  return running(url, child)
}

export async function startCaddy (workDir: string, upstream: string, user: string, bcryptHash: string, authorization: string): Promise<Running> {
  const port = await freePort()
  const dir = join(workDir, `caddy-${port}`)
  mkdirSync(dir, { recursive: true })
  const config = {
    admin: { disabled: true },
    logging: { logs: { default: { level: 'ERROR' } } },
    apps: {
      http: {
        servers: {
          bench: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [{
              handle: [
                {
                  handler: 'authentication',
                  providers: {
                    http_basic: {
                      accounts: [{ username: user, password: Buffer.from(bcryptHash).toString('base64') }],
                      hash: { algorithm: 'bcrypt' },
                      hash_cache: {}
                    }
                  }
                },
                { handler: 'reverse_proxy', upstreams: [{ dial: new URL(upstream).host }] }
              ]
            }]
          }
        }
      }
    }
  }
  const file = join(dir, 'caddy.json')
  writeFileSync(file, JSON.stringify(config))
  const child = startProcess('system', 'caddy', ['run', '--config', file], { GOMAXPROCS: '1', HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir })
  const url = `http://127.0.0.1:${port}/`
  await waitFor(url, authorization)
  return running(url, child)
}

/**
 * Node flags the auth-proxy runs with: the proxy's own list (node-flags.ts, which the image's ENTRYPOINT repeats), given
 * on the command line as the image does, so start-up is measured without the relaunch a plain start makes.
 * BENCH_AUTH_PROXY_NODE_FLAGS overrides them for A/B runs.
 */
export const AUTH_PROXY_NODE_FLAGS: readonly string[] = process.env.BENCH_AUTH_PROXY_NODE_FLAGS?.split(' ').filter((f) => f !== '') ?? NODE_FLAGS
/** What the image runs. */
export const AUTH_PROXY_ENTRY = join(ROOT, 'services/auth-proxy/dist/cli.js')

export interface AuthProxyRunning extends Running { readonly managementUrl: string }

export async function startAuthProxy (upstream: string, htpasswdFile: string, authorization: string | undefined, env: Record<string, string> = {}): Promise<AuthProxyRunning> {
  const [port, mgmt] = [await freePort(), await freePort()]
  const child = startProcess('system', process.execPath, [...AUTH_PROXY_NODE_FLAGS, AUTH_PROXY_ENTRY, 'serve'], {
    HTPASSWD_FILE: htpasswdFile, UPSTREAM_URL: new URL(upstream).origin, LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port),
    MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(mgmt), LOG_LEVEL: 'warn', ...env
  })
  const url = `http://127.0.0.1:${port}/`
  const managementUrl = `http://127.0.0.1:${mgmt}`
  if (authorization !== undefined) await waitFor(url, authorization)
  return { ...running(url, child), managementUrl }
}
