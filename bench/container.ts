// The proxy as Kubernetes runs and charges it: the project's own image, in the Pod of k8s/base (`podman kube play`,
// as the e2e does), its memory read from its container's cgroup. What a quota counts is the working set —
// memory.current minus inactive_file (kubelet's and cAdvisor's definition) — where the node binary's mapped pages
// count too; RSS from /proc is not it. Also: start-to-ready inside the image, a second proxy started next to the
// first with `podman exec` (the container's own node, files and flags; only its ports differ).
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildImages, prepareEngine, run, waitUntil } from '../test/e2e/harness/engine.ts'
import { forPodman, kustomize } from '../test/e2e/harness/kube.ts'
import { freePort } from '../test/helpers/upstream.ts'
import { median } from './report.ts'
import { waitFor } from './systems.ts'
import { wrk } from './wrk.ts'

const POD = 'hello-pod-0' // podman names a Deployment's pods <name>-pod-<n>
const CONTAINER = `${POD}-auth-proxy`
/** The demo credentials of k8s/base's Secret (a bcrypt line): what the Pod is started with. */
const DEMO = `Basic ${Buffer.from('admin:admin1041').toString('base64')}`

export interface ContainerResults {
  readonly idleMb: number
  readonly afterLoadMb: number
  readonly rps: number
  readonly startToReadyMs: number
}

/**
 * The container's working set in MB, from its memory cgroup (found through its main process): cgroup v2's
 * memory.current − inactive_file, or on a v1/hybrid host (this VM) memory.usage_in_bytes − total_inactive_file,
 * which is what the kubelet reads there.
 */
function workingSetMb (pid: number): number {
  const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
  const v1 = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.+)$/m.exec(cgroups)?.[1]
  const v2 = /^0::(.+)$/m.exec(cgroups)?.[1]
  const [dir, usageFile, inactiveField] = v1 !== undefined
    ? [join('/sys/fs/cgroup/memory', v1), 'memory.usage_in_bytes', 'total_inactive_file']
    : [join('/sys/fs/cgroup', v2 ?? ''), 'memory.current', 'inactive_file']
  const usage = Number(readFileSync(join(dir, usageFile), 'utf8'))
  const inactiveFile = Number(new RegExp(`^${inactiveField} (\\d+)$`, 'm').exec(readFileSync(join(dir, 'memory.stat'), 'utf8'))?.[1] ?? 0)
  return (usage - inactiveFile) / 1024 ** 2
}

/** A second proxy in the running container, timed from spawn until its /readyz answers 200 (inside, by node). */
const START_SCRIPT = `
const { spawn } = require('node:child_process')
const flags = process.argv.slice(1)
const started = performance.now()
const child = spawn(process.execPath, [...flags, 'services/auth-proxy/dist/cli.js', 'serve'], {
  env: { ...process.env, LISTEN_PORT: '18181', MANAGEMENT_PORT: '19191', SHUTDOWN_DELAY: '0', LOG_LEVEL: 'warn' }, stdio: 'ignore'
})
const poll = () => fetch('http://127.0.0.1:19191/readyz').then((r) => r.status === 200, () => false).then((ok) => {
  if (ok) { console.log(performance.now() - started); child.kill('SIGKILL'); process.exit(0) } else setTimeout(poll, 5)
})
poll()`

async function startToReadyInImage (times: number, flags: readonly string[]): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < times; i++) {
    const out = await run('start a second proxy inside the image', 'podman', ['exec', CONTAINER, 'node', '-e', START_SCRIPT, '--', ...flags])
    samples.push(Number(out.trim()))
  }
  return median(samples)
}

async function cleanUp (yamlFile: string): Promise<void> {
  await run('kube down', 'podman', ['kube', 'down', yamlFile]).catch(() => '')
  await run('remove leftover pod', 'podman', ['pod', 'rm', '-f', '--ignore', POD]).catch(() => '')
  await run('remove ConfigMap volume', 'podman', ['volume', 'rm', '-f', 'hello-htpasswd']).catch(() => '')
}

/** Builds the images (cached layers make it quick), plays the Pod, measures, and removes it. */
export async function benchContainer (opts: { seconds: number, starts: number, flags: readonly string[], log: (m: string) => void }): Promise<ContainerResults> {
  await prepareEngine()
  opts.log('building the images (podman, no registry)')
  await buildImages()
  const port = await freePort()
  const yamlFile = join(tmpdir(), `auth-proxy-bench-pod-${process.pid}.yaml`)
  writeFileSync(yamlFile, forPodman(kustomize('k8s/base'), port))
  await cleanUp(yamlFile)
  try {
    await run('podman kube play the rendered k8s/base', 'podman', ['kube', 'play', yamlFile])
    const url = `http://127.0.0.1:${port}/`
    await waitUntil('the app behind the proxy', async () => { await waitFor(url, DEMO); return true })
    const pid = Number((await run('the proxy container\'s pid', 'podman', ['inspect', '--format', '{{.State.Pid}}', CONTAINER])).trim())
    await new Promise((resolve) => setTimeout(resolve, 3_000)) // settled: start-up garbage collected
    const idleMb = workingSetMb(pid)
    opts.log(`container idle: ${idleMb.toFixed(1)} MB working set; loading it for ${opts.seconds} s`)
    const load = await wrk(url, DEMO, 32, opts.seconds)
    const afterLoadMb = workingSetMb(pid)
    const startToReadyMs = await startToReadyInImage(opts.starts, opts.flags)
    return { idleMb, afterLoadMb, rps: load.rps, startToReadyMs }
  } finally {
    await cleanUp(yamlFile)
  }
}
