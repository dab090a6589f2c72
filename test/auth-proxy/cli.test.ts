// `auth-proxy hash`: the real command, as a user runs it — from a pipe and from a terminal.
import { spawn, spawnSync } from 'node:child_process'
import t from 'tap'
import { HtpasswdBackend } from '../../services/auth-proxy/src/auth/basic/htpasswd.ts'
import { tempDir } from '../helpers/htpasswd.ts'
import { ROOT } from '../helpers/process.ts'

const CLI = `${ROOT}services/auth-proxy/dist/cli.js`

function hash (args: string[], input: string): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [CLI, 'hash', ...args], { input, encoding: 'utf8' })
}

t.test('--stdin prints a bcrypt line that Apache\'s htpasswd and our proxy both accept', async (t) => {
  const res = hash(['alice', '--stdin', '--cost', '5'], 'pässwörd with spaces\n')
  t.equal(res.status, 0)
  const line = String(res.stdout).trim()
  t.match(line, /^alice:\$2y\$05\$[./A-Za-z0-9]{53}$/)
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const file = dir.file('htpasswd', `${line}\n`)
  const verified = spawnSync('htpasswd', ['-vb', file, 'alice', 'pässwörd with spaces'], { encoding: 'utf8' })
  t.equal(verified.status, 0, `htpasswd -v: ${verified.stderr}`)
  t.equal(spawnSync('htpasswd', ['-vb', file, 'alice', 'wrong'], { encoding: 'utf8' }).status, 3, 'htpasswd -v rejects a wrong one')
  const backend = await HtpasswdBackend.load(file)
  t.ok(await backend.verify('alice', 'pässwörd with spaces'))
  t.notOk(await backend.verify('alice', 'pässwörd with spaces\n'), 'the trailing newline was not part of it')
})

t.test('the default cost is 10', async (t) => {
  t.match(String(hash(['bob', '--stdin'], 'pw').stdout), /^bob:\$2y\$10\$/)
})

/** Runs `hash` on a real pseudo-terminal (script(1)) and types each answer when its prompt appears, as a person would. */
async function typeAtPrompts (answers: string[]): Promise<{ out: string, code: number | null }> {
  const child = spawn('script', ['-qec', `${process.execPath} ${CLI} hash carol --cost 4`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let answered = 0
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
    const prompts = (out.match(/Password: |Again: /g) ?? []).length
    while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++] ?? ''}\r`)
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  child.stdin.destroy()
  return { out, code }
}

t.test('from a terminal: asks twice, echoes nothing, prints the line', async (t) => {
  const { out, code } = await typeAtPrompts(['Typed-Secret-1', 'Typed-Secret-1'])
  t.equal(code, 0)
  t.match(out, /Password: /)
  t.match(out, /Again: /)
  t.notMatch(out, /Typed-Secret-1/, 'the password is never echoed')
  t.match(out, /carol:\$2y\$04\$/)
})

t.test('from a terminal: two different entries are refused', async (t) => {
  const { out, code } = await typeAtPrompts(['one', 'two'])
  t.not(code, 0)
  t.match(out, /the passwords do not match/)
  t.notMatch(out, /carol:\$2y\$/)
})

t.test('without a terminal and without --stdin it says what to do', async (t) => {
  const res = spawnSync(process.execPath, [CLI, 'hash', 'dave'], { input: '', encoding: 'utf8' })
  t.equal(res.status, 64)
  t.match(res.stderr, /use --stdin/)
})

t.test('bad input: clear messages and sysexits codes, never a stack trace', async (t) => {
  const cases: Array<[string[], string, number, RegExp]> = [
    [[], 'pw', 64, /hash needs a USER/],
    [['a:b', '--stdin'], 'pw', 64, /must not contain ":"/],
    [['a', '--stdin', '--cost', '3'], 'pw', 64, /--cost must be a whole number from 4 to 17/],
    [['a', '--bogus'], 'pw', 64, /unknown option --bogus/],
    [['a', 'b'], 'pw', 64, /unexpected argument b/],
    [['a', '--stdin'], '', 65, /the password is empty/],
    [['a', '--stdin'], '\n', 65, /the password is empty/],
    [['a', '--stdin'], 'two\nlines\n', 65, /control characters or more than one line/]
  ]
  for (const [args, input, code, message] of cases) {
    const res = hash(args, input)
    t.equal(res.status, code, args.join(' '))
    t.match(res.stderr, message)
    t.notMatch(String(res.stderr), /\n\s+at /)
    t.equal(res.stdout, '', 'nothing on stdout')
  }
  const unknown = spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8' })
  t.equal(unknown.status, 64)
  t.match(unknown.stderr, /unknown command frobnicate/)
})
