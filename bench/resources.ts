// The proxy's own resources beside the throughput: RSS after load split into mapped files and private memory,
// start-to-ready, and memory growth during a 1 GiB streamed upload.
import { readFileSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { median, type Extras } from './report.ts'
import { startAuthProxy, waitFor } from './systems.ts'

export function rssMb (pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
}

/**
 * RSS after load from /proc/PID/smaps_rollup, split into file-backed pages (the node binary's code) and anonymous
 * memory. One read, so the parts add up to the total.
 */
export function memoryAfterLoad (pid: number): Pick<Extras, 'rssAfterLoadMb' | 'fileBackedMb' | 'privateMb'> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN)
  return { rssAfterLoadMb: kb('Rss') / 1024, fileBackedMb: (kb('Rss') - kb('Anonymous')) / 1024, privateMb: kb('Anonymous') / 1024 }
}

export async function startToReady (upstream: string, file: string, starts: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < starts; i++) {
    const started = performance.now()
    const p = await startAuthProxy(upstream, file, undefined)
    await waitFor(`${p.managementUrl}/readyz`, undefined, 200, 5)
    times.push(performance.now() - started)
    await p.stop()
  }
  return median(times)
}

/** An upstream that reads and discards request bodies (the hello app has no upload route). */
async function startSink (): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer((req, res) => { req.resume(); req.on('end', () => { res.end('stored') }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) } }
}

export async function uploadGrowth (file: string, total: number, authorization: string): Promise<{ growthMb: number, seconds: number }> {
  const sink = await startSink()
  const p = await startAuthProxy(sink.url, file, undefined)
  await waitFor(`${p.managementUrl}/readyz`, undefined)
  const baseline = rssMb(p.pid)
  let peak = baseline
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb(p.pid)) }, 25)
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024)
    let sent = 0
    const body = new Readable({ read () { if (sent >= total) { this.push(null); return } sent += chunk.length; this.push(chunk) } })
    const req = request(p.url, { method: 'POST', agent: false, headers: { authorization, 'content-length': String(total) } }, (res) => { res.resume(); res.on('end', resolve) })
    req.on('error', reject)
    body.pipe(req)
  })
  clearInterval(sampler)
  const seconds = (performance.now() - started) / 1000
  await p.stop()
  await sink.close()
  return { growthMb: peak - baseline, seconds }
}

