// The benchmark measures what the image runs: the same entry point with the same Node flags.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/process.ts'

t.test('the image and the benchmark run the proxy with the same Node flags and entry point', async (t) => {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'services/auth-proxy/Dockerfile'), 'utf8'))?.[1]
  const args = JSON.parse(entrypoint ?? '[]') as string[]
  const image = args.filter((a) => a.startsWith('--'))
  const systems = readFileSync(join(ROOT, 'bench/systems.ts'), 'utf8')
  const bench = /process\.env\.BENCH_AUTH_PROXY_NODE_FLAGS.*?\?\? (\[[^\]]*\])/.exec(systems)?.[1]
  t.ok(image.length > 0, 'the image sets Node flags')
  t.same(image, JSON.parse((bench ?? '[]').replaceAll("'", '"')) as string[])
  const entry = args.find((a) => a.endsWith('.js'))
  t.ok(entry !== undefined && systems.includes(`'${entry}'`), `the benchmark starts ${String(entry)} too`)
})
