// Real ingress-style front ends from Debian's packages, started by the tests on loopback in front of an app, each
// asking the proxy in MODE=forward-auth: nginx with `auth_request` (the snippet docs/forward-auth.md shows) and
// Caddy 2 with `forward_auth`. Each routes AUTH_PATH_PREFIX on the app's own host to the proxy (login, callback).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { htpasswdLine, tempDir } from './htpasswd.ts'
import { freePort, type Received } from './upstream.ts'

export interface Front {
  readonly url: string
  readonly port: number
  /** The front end's own configuration, as written. */
  readonly config: string
  stop (): Promise<void>
}

async function answering (url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`front end exited ${child.exitCode}: ${stderr()}`)
    const status = await new Promise<number>((resolve) => {
      request(url, { agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', () => { resolve(0) }).end()
    })
    if (status !== 0) return
    if (Date.now() > deadline) throw new Error(`front end at ${url} never answered: ${stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function start (command: string, args: (dir: string) => string[], write: (dir: string) => string, port: number, env: Record<string, string> = {}): Promise<Front> {
  const dir = mkdtempSync(join(tmpdir(), `auth-proxy-${command}-`))
  const config = write(dir)
  const child = spawn(command, args(dir), { env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000) })
  const url = `http://127.0.0.1:${port}`
  await answering(`${url}/`, child, () => stderr)
  return {
    url, port, config,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))])
        child.kill('SIGKILL')
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The nginx server block for an app behind auth_request (docs/forward-auth.md has the same, for a real host).
 * `clearOthers: false` leaves out the lines that drop a client's own X-Forwarded-Uri & co. — a careless config,
 * against which the proxy must still fail closed.
 */
export function nginxServer (listen: string, auth: string, app: string, clearOthers = true, serverName?: string): string {
  return `  server {
    listen ${listen};${serverName !== undefined ? `\n    server_name ${serverName};` : ''}
    # The check: the request described in headers nginx sets itself (a client's own copies are overwritten).
    location = /_auth/check {
      internal;
      proxy_pass http://${auth};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      # $host: the host nginx routed by (request line first, no trailing dot), never a client's Host of choice.
      proxy_set_header X-Forwarded-Host $host:$server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
${clearOthers ? '      proxy_set_header X-Forwarded-Uri "";\n      proxy_set_header X-Forwarded-Method "";\n      proxy_set_header X-Original-URL "";\n' : ''}    }
    # The login, callback and logout on the app's own host — only those: the check is for nginx alone.
    location ~ ^/_auth/(login|callback|logout|userinfo|backchannel-logout)$ {
      proxy_pass http://${auth};
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-Host $host:$server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_auth/check;
      auth_request_set $auth_user $upstream_http_x_auth_request_user;
      auth_request_set $auth_email $upstream_http_x_auth_request_email;
      auth_request_set $auth_groups $upstream_http_x_auth_request_groups;
      auth_request_set $auth_login $upstream_http_x_auth_request_redirect;
      proxy_set_header X-Forwarded-User $auth_user;
      proxy_set_header X-Forwarded-Email $auth_email;
      proxy_set_header X-Forwarded-Groups $auth_groups;
      error_page 401 = @signin;
      proxy_pass http://${app};
    }
    # Browsers to the login (the proxy said where); scripts get the 401 with the proxy's challenge (nginx passes it).
    location @signin {
      if ($auth_login) { return 302 $auth_login; }
      return 401;
    }
  }`
}

/** `serverNames`: one server block per name, the first the default server (for requests naming none or another). */
export async function startNginx (auth: string, app: string, options: { port?: number, clearOthers?: boolean, serverNames?: readonly string[] } = {}): Promise<Front> {
  const port = options.port ?? await freePort()
  const servers = options.serverNames === undefined
    ? nginxServer(`127.0.0.1:${port}`, auth, app, options.clearOthers ?? true)
    : options.serverNames.map((name, i) => nginxServer(`127.0.0.1:${port}${i === 0 ? ' default_server' : ''}`, auth, app, options.clearOthers ?? true, name)).join('\n')
  return await start('nginx', (dir) => ['-e', `${dir}/error.log`, '-p', dir, '-c', `${dir}/nginx.conf`], (dir) => {
    mkdirSync(join(dir, 'tmp'), { recursive: true })
    const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
${servers}
}
`
    writeFileSync(join(dir, 'nginx.conf'), conf)
    return conf
  }, port)
}

/** The Caddyfile site for an app behind forward_auth (docs/forward-auth.md has the same, for a real host). */
export function caddySite (address: string, auth: string, app: string): string {
  return `${address} {
  # The login, callback and logout on the app's own host — only those: /_auth/forward is for Caddy alone (it would
  # hand a page's scripts the user's headers, an access token among them).
  @login path /_auth/login /_auth/callback /_auth/logout /_auth/userinfo /_auth/backchannel-logout
  handle @login {
    reverse_proxy ${auth}
  }
  # route: in this order. A client's own identity headers go first — copy_headers (Caddy 2.6) leaves them in
  # place when the answer has none (a public path), and request_header would otherwise run after forward_auth.
  route {
    request_header -X-Forwarded-User
    request_header -X-Forwarded-Email
    request_header -X-Forwarded-Groups
    forward_auth ${auth} {
      uri /_auth/forward
      copy_headers X-Auth-Request-User>X-Forwarded-User X-Auth-Request-Email>X-Forwarded-Email X-Auth-Request-Groups>X-Forwarded-Groups
    }
    reverse_proxy ${app}
  }
}`
}

export async function startCaddy (auth: string, app: string, options: { port?: number } = {}): Promise<Front> {
  const port = options.port ?? await freePort()
  return await start('caddy', (dir) => ['run', '--adapter', 'caddyfile', '--config', `${dir}/Caddyfile`], (dir) => {
    const conf = `{
  admin off
  auto_https off
  log {
    level ERROR
  }
}
${caddySite(`http://127.0.0.1:${port}`, auth, app)}
`
    writeFileSync(join(dir, 'Caddyfile'), conf)
    return conf
  }, port, { GOMAXPROCS: '1' })
}

/**
 * The scenario the nginx and Caddy tests share: alice and root (root in `admins`), `/pub` public and `/admin` for
 * admins, as files for HTPASSWD_FILE, HTPASSWD_GROUPS_FILE and AUTHZ_RULES_FILE; and what the app saw of a request.
 */
export function forwardAuthFiles (): { dir: ReturnType<typeof tempDir>, htpasswd: string, groups: string, rules: string } {
  const dir = tempDir()
  return {
    dir,
    htpasswd: dir.file('htpasswd', ['alice', 'root'].map((u) => htpasswdLine(u, `${u}-pw`, '-B', 4)).join('\n')),
    groups: dir.file('groups', 'admins: root\n'),
    rules: dir.file('rules.yaml', 'rules:\n  - prefix: /pub\n    allow: public\n  - prefix: /admin\n    allow: { groups: [admins] }\n')
  }
}
export const seenBy = (body: string): Received['headers'] => (JSON.parse(body) as Received).headers
