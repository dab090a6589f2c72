#!/usr/bin/env node
// The auth-proxy command. `serve` (the default) runs the proxy; `hash` makes an htpasswd line so nobody needs
// Apache's tools to create a Secret:
//   auth-proxy hash alice                 asks for the password twice, without echo
//   printf '%s' "$PW" | auth-proxy hash alice --stdin
//   docker run --rm -it IMAGE hash alice  the same, from the image

const DEFAULT_HASH_COST = 10
const EX_USAGE = 64
const EX_DATAERR = 65

const USAGE = `usage:
  auth-proxy [serve]                           run the proxy (configured by environment variables)
  auth-proxy hash USER [--stdin] [--cost N]    print a bcrypt htpasswd line for USER
      --stdin    read the password from standard input (one trailing newline is ignored)
      --cost N   bcrypt cost, 4-17 (default ${DEFAULT_HASH_COST})
`

class UsageError extends Error {}

/** Reads a password from the terminal without echoing it. */
async function promptHidden (prompt: string): Promise<string> {
  const { stdin, stderr } = process
  // Raw mode (no echo) before the prompt: text typed or pasted the moment the prompt appears must not echo.
  stdin.setRawMode(true)
  stderr.write(prompt)
  stdin.resume()
  stdin.setEncoding('utf8')
  return await new Promise((resolve, reject) => {
    let value = ''
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') { finish(); resolve(value); return }
        if (ch === '\u0003' || ch === '\u0004') { finish(); reject(new UsageError('cancelled')); return } // Ctrl-C, Ctrl-D
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else value += ch
      }
    }
    const finish = (): void => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stderr.write('\n')
    }
    stdin.on('data', onData)
  })
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function hashCommand (args: readonly string[]): Promise<string> {
  let user: string | undefined
  let fromStdin = false
  let cost = DEFAULT_HASH_COST
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    if (arg === '--stdin') fromStdin = true
    else if (arg === '--cost') {
      cost = Number(args[++i])
      if (!Number.isInteger(cost) || cost < 4 || cost > 17) throw new UsageError('--cost must be a whole number from 4 to 17')
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`)
    else if (user === undefined) user = arg
    else throw new UsageError(`unexpected argument ${arg}`)
  }
  if (user === undefined || user === '') throw new UsageError('hash needs a USER')
  // Loaded here, not at the top: `serve` (server.ts) may relaunch node, and would load bcrypt twice.
  const { hasControlCharacters } = await import('./config/auth.ts')
  const { bcryptLine } = await import('./auth/basic/password-hash.ts')
  // RFC 7617 §2: a user-id cannot contain a colon; htpasswd lines could not hold it either.
  if (user.includes(':') || hasControlCharacters(user)) throw new UsageError('USER must not contain ":" or control characters')

  let password: string
  if (fromStdin) {
    password = await readStdin()
  } else {
    if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password: use --stdin')
    password = await promptHidden('Password: ')
    if (await promptHidden('Again: ') !== password) throw new Error('the passwords do not match')
  }
  if (password === '') throw new Error('the password is empty')
  if (hasControlCharacters(password)) throw new Error('the password contains control characters or more than one line')
  return await bcryptLine(user, password, cost)
}

async function main (argv: readonly string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv
  if (command === 'serve') { await import('./server.ts'); return }
  if (command === 'help' || command === '--help' || command === '-h') { process.stdout.write(USAGE); return }
  if (command !== 'hash') throw new UsageError(`unknown command ${command}`)
  process.stdout.write(`${await hashCommand(rest)}\n`)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const usage = err instanceof UsageError
  process.stderr.write(`auth-proxy: ${(err as Error).message}\n${usage ? USAGE : ''}`)
  process.exitCode = usage ? EX_USAGE : EX_DATAERR
})
