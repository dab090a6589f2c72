// Start-up loads only what serving needs: not undici's index (fetch, WebSocket, EventSource, caches, mocks: ~50 ms)
// and not Node's own bundled undici (an ESM `import` of node:http reads its lazy WebSocket getter: ~16 ms). Checked
// in a fresh process that builds the app as serve.ts does.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { ROOT } from '../helpers/process.ts'

const PROBE = `
import { createRequire } from 'node:module'
const { buildApp } = await import('./services/auth-proxy/dist/app.js')
const { loadConfig } = await import('./services/auth-proxy/dist/config.js')
const app = buildApp(loadConfig({ UPSTREAM_URL: 'http://127.0.0.1:9', AUTH_USERNAME: 'alice', AUTH_PASSWORD: 'pw' }))
await app.ready()
const cache = Object.keys(createRequire(import.meta.url).cache)
console.log(JSON.stringify({
  undiciIndex: cache.some((f) => /node_modules\\/undici\\/index\\.js$/.test(f)),
  undiciPool: cache.some((f) => /node_modules\\/undici\\/lib\\/dispatcher\\/pool\\.js$/.test(f)),
  nodeUndici: process.moduleLoadList.some((m) => m.includes('internal/deps/undici/undici'))
}))
await app.close()
`

t.test('building the app loads undici\'s pool only, and not Node\'s bundled undici', async (t) => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  const loaded = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, boolean>
  t.equal(loaded.undiciPool, true, 'the pool is what forwards')
  t.equal(loaded.undiciIndex, false, 'undici\'s index is not loaded')
  t.equal(loaded.nodeUndici, false, 'Node\'s bundled undici is not loaded')
})
