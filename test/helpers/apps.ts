// Real third-party apps from Debian's packages and the npm registry, started on loopback ports the way a Pod would
// run them next to the sidecar: Flask under gunicorn, Jupyter Notebook, Shiny, TiddlyWiki. Each is a real
// process; the tests drive them through the real proxy process in Chromium.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { tempDir, type TempDir } from './htpasswd.ts'
import { ROOT } from './process.ts'
import { freePort } from './upstream.ts'

export interface RunningApp {
  readonly url: string
  readonly port: number
  readonly dir: TempDir
  /** What the app printed, for failure messages. */
  output (): string
  stop (): Promise<void>
}

/** Starts `command` and waits until `http://127.0.0.1:port{readyPath}` answers (any status below 500). */
async function startApp (command: string, args: (port: number, dir: TempDir) => string[], options: { readyPath?: string, env?: Record<string, string>, setup?: (dir: TempDir) => void } = {}): Promise<RunningApp> {
  const dir = tempDir()
  options.setup?.(dir)
  const port = await freePort()
  let out = ''
  const child: ChildProcess = spawn(command, args(port, dir), { cwd: dir.path, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-8000) })
  child.stderr?.on('data', (c: Buffer) => { out = (out + c.toString()).slice(-8000) })
  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(5_000)])
      child.kill('SIGKILL')
    }
    dir.remove()
  }
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break
    try {
      const res = await fetch(`${url}${options.readyPath ?? '/'}`)
      await res.body?.cancel()
      if (res.status < 500) return { url, port, dir, output: () => out, stop }
    } catch { /* not yet */ }
    await sleep(100)
  }
  await stop()
  throw new Error(`${command} did not start: ${out}`)
}

/** The tutorial's own app: Flask's Hello World, under gunicorn (Debian's python3-flask and gunicorn). */
export async function startFlask (module = 'app:app', source?: string): Promise<RunningApp> {
  return await startApp('/usr/bin/gunicorn', (port, dir) => ['--chdir', dir.path, '--bind', `127.0.0.1:${port}`, '--workers', '2', module], {
    setup: (dir) => { dir.file('app.py', source ?? FLASK_HELLO) }
  })
}

/** The Flask app of the tutorial, exactly (examples/flask/app.py). */
export const FLASK_HELLO = `from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello World"
`

/** Jupyter Notebook (Debian's jupyter-notebook), with a token as it runs by default, optionally under a base_url. */
export async function startJupyter (token: string, baseUrl = '/'): Promise<RunningApp> {
  return await startApp('/usr/bin/jupyter-notebook', (port, dir) => ['--no-browser', '--allow-root', '--ip=127.0.0.1', `--port=${port}`,
    `--NotebookApp.token=${token}`, `--NotebookApp.base_url=${baseUrl}`, `--notebook-dir=${dir.path}`, '--NotebookApp.port_retries=0'], {
    readyPath: `${baseUrl.replace(/\/?$/, '/')}api`,
    env: { JUPYTER_CONFIG_DIR: '/nonexistent-jupyter-config', PYDEVD_DISABLE_FILE_VALIDATION: '1' }
  })
}

/** A Shiny app (Debian's r-cran-shiny): a slider whose value comes back doubled, over Shiny's WebSocket. */
export async function startShiny (): Promise<RunningApp> {
  return await startApp('/usr/bin/Rscript', (port, dir) => ['-e', `shiny::runApp("${dir.path}", port = ${port}, host = "127.0.0.1", launch.browser = FALSE)`], {
    setup: (dir) => { dir.file('app.R', SHINY_APP) }
  })
}

export const SHINY_APP = `library(shiny)
ui <- fluidPage(
  titlePanel("Doubler"),
  sliderInput("n", "Number", min = 1, max = 100, value = 10),
  textOutput("doubled")
)
server <- function(input, output) {
  output$doubled <- renderText(paste("Doubled:", input$n * 2))
}
shinyApp(ui, server)
`

/**
 * TiddlyWiki (the npm registry's tiddlywiki, a Node.js app): its server trusting the proxy's user header, as its
 * docs describe for running behind an authenticating proxy.
 */
export async function startTiddlyWiki (): Promise<RunningApp> {
  const bin = join(ROOT, 'node_modules', 'tiddlywiki', 'tiddlywiki.js')
  return await startApp(process.execPath, (port, dir) => [bin, join(dir.path, 'wiki'), '--listen', 'host=127.0.0.1', `port=${port}`,
    'authenticated-user-header=x-forwarded-user', 'readers=(authenticated)', 'writers=(authenticated)'], {
    setup: (dir) => {
      mkdirSync(join(dir.path, 'wiki', 'tiddlers'), { recursive: true })
      writeFileSync(join(dir.path, 'wiki', 'tiddlywiki.info'), JSON.stringify({ plugins: ['tiddlywiki/tiddlyweb', 'tiddlywiki/filesystem'], themes: ['tiddlywiki/vanilla', 'tiddlywiki/snowwhite'] }))
    },
    readyPath: '/status'
  })
}
