// 1 GiB up and 1 GiB down through the real proxy process, generated on the fly: the proxy streams, so its
// resident memory must not grow with the body (sampled from /proc while bytes flow).
//
// Measured here: download +15-20 MB; upload +12 MB. Without the proxy's scavenge after every 8 MB of request body
// (proxy/body-reclaim.ts) the upload grew 75-85 MB: V8's threshold for external memory (64 MB of
// freed-but-uncollected body Buffers from Node's HTTP parser). The limits pin both: a regression that buffers
// bodies (hundreds of MB) or loses the reclaiming (~80 MB) fails.
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import t from 'tap'
import { basic, send } from '../../helpers/http.ts'
import { runService, ROOT } from '../../helpers/process.ts'
import { freePort, startUpstream } from '../../helpers/upstream.ts'

const GIB = 1024 ** 3
const CHUNK = 64 * 1024
const LIMIT_MB = 50
const AUTH = basic('admin', 'admin1041')

function rssMb (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) / 1024
}

function zeros (total: number): Readable {
  const chunk = Buffer.alloc(CHUNK)
  let sent = 0
  return new Readable({
    read () {
      if (sent >= total) { this.push(null); return }
      sent += CHUNK
      this.push(chunk)
    }
  })
}

t.test('1 GiB upload and 1 GiB download: proxy RSS growth stays bounded', async (t) => {
  // The upstream helper counts request bytes as they stream past (received[].bodyBytes) and discards them.
  const upstream = await startUpstream((req, res) => {
    if (req.method === 'GET') { res.setHeader('content-length', String(GIB)); zeros(GIB).pipe(res); return }
    res.end('stored')
  })
  const [port, mgmt] = [await freePort(), await freePort()]
  const proxy = runService('auth-proxy', {
    HTPASSWD_FILE: `${ROOT}demo/htpasswd`, UPSTREAM_URL: upstream.url, LISTEN_HOST: '127.0.0.1', LISTEN_PORT: String(port),
    MANAGEMENT_HOST: '127.0.0.1', MANAGEMENT_PORT: String(mgmt), LOG_LEVEL: 'warn'
  })
  t.teardown(async () => { proxy.process.kill('SIGKILL'); await upstream.close() })
  for (let i = 0; ; i++) {
    if (await send(`http://127.0.0.1:${mgmt}/healthz`).then(() => true, () => false)) break
    if (i > 200) throw new Error(`proxy did not start: ${proxy.stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const pid = proxy.process.pid ?? 0

  const transfer = async (method: 'PUT' | 'GET'): Promise<{ bytes: number, growthMb: number, seconds: number }> => {
    // Warm the path first (JIT, pools, buffers), then take the baseline.
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/warm', method: 'PUT', agent: false, headers: { authorization: AUTH } }, (res) => { res.resume(); res.on('end', resolve) })
        .on('error', reject).end(Buffer.alloc(1024 * 1024))
    })
    const baseline = rssMb(pid)
    let peak = baseline
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(pid)) }, 25)
    const started = Date.now()
    const bytes = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/big', method, agent: false, headers: { authorization: AUTH, ...(method === 'PUT' && { 'content-length': String(GIB) }) } }, (res) => {
        let n = 0
        res.on('data', (c: Buffer) => { n += c.length })
        res.on('end', () => { resolve(method === 'GET' ? n : upstream.received.at(-1)?.bodyBytes ?? 0) })
      })
      req.on('error', reject)
      if (method === 'PUT') zeros(GIB).pipe(req)
      else req.end()
    })
    clearInterval(sampler)
    return { bytes, growthMb: peak - baseline, seconds: (Date.now() - started) / 1000 }
  }

  const up = await transfer('PUT')
  t.equal(up.bytes, GIB, 'the whole GiB reached the app')
  t.ok(up.growthMb < LIMIT_MB, `upload: RSS grew ${up.growthMb.toFixed(1)} MB (limit ${LIMIT_MB}) in ${up.seconds.toFixed(1)} s`)
  const down = await transfer('GET')
  t.equal(down.bytes, GIB, 'the whole GiB reached the client')
  t.ok(down.growthMb < LIMIT_MB, `download: RSS grew ${down.growthMb.toFixed(1)} MB (limit ${LIMIT_MB}) in ${down.seconds.toFixed(1)} s`)
})
