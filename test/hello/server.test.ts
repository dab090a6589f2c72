// The built entry point, as a real process: listens where told, exits cleanly on SIGTERM and SIGINT.
import t from 'tap'
import { send } from '../helpers/http.ts'
import { runService } from '../helpers/process.ts'
import { freePort } from '../helpers/upstream.ts'

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`serves Hello World, then exits 0 on ${signal}`, async (t) => {
    const port = await freePort()
    const hello = runService('hello', { PORT: String(port) })
    t.teardown(() => { hello.process.kill('SIGKILL') })
    await hello.waitFor(/Server listening/)
    const res = await send(`http://127.0.0.1:${port}/`)
    t.equal(res.body, 'Hello World')
    hello.process.kill(signal)
    t.equal(await hello.exited, 0)
  })
}

t.test('an invalid PORT stops start-up with a message naming it and exit code 78', async (t) => {
  const hello = runService('hello', { PORT: 'eighty' })
  t.equal(await hello.exited, 78)
  t.match(hello.stderr, /PORT must be a TCP port/)
  t.notMatch(hello.stderr, /\n\s+at /, 'no stack trace')
})
