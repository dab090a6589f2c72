// The Node flags the proxy runs with — one list, whoever starts it: the image's ENTRYPOINT names them (so it starts
// with no detour; test/auth-proxy/node-flags.test.ts keeps them equal), the benchmark and the soak read them from
// here, and `node dist/server.js` or `npm start` without them re-executes itself with them (server.ts). V8 fixes
// its heap layout at start-up: `v8.setFlagsFromString('--max-semi-space-size=…')` after that is accepted and ignored
// (measured: the young generation still grew to 128 MB), so a launcher is the only way to make them hold.
import { accessSync, constants } from 'node:fs'
import { url as inspectorUrl } from 'node:inspector'
import { isMainThread } from 'node:worker_threads'

/**
 * `--max-semi-space-size=8`: Node 24's V8 lets the young generation grow to 64 MB per semi-space under a proxy's
 * allocation rate (buffers and headers per request, all short-lived); 8 MB keeps RSS after load ~60 MB lower at
 * the same throughput (docs/performance.md).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']

/** Set in the relaunched process: never relaunch twice, whatever a future flag looks like in execArgv. */
const RELAUNCHED = 'AUTH_PROXY_RELAUNCHED'

/** The flag's name as V8 reads it (`--max_semi_space_size` is `--max-semi-space-size`), so the user's value wins. */
function flagName (flag: string): string { return (flag.split('=')[0] ?? flag).replaceAll('_', '-') }

/** The flags of NODE_FLAGS this process was started without (on the command line or in NODE_OPTIONS). */
export function missingNodeFlags (execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName)
  return NODE_FLAGS.filter((f) => !given.includes(flagName(f)))
}

/**
 * Why not to relaunch, or undefined when it is safe: where execve would fail (an uncatchable abort if the system
 * call itself fails), or lose something the process was given — an IPC channel (fork(), pm2, cluster), a debugger
 * session, the permission model's restrictions.
 */
function cannotRelaunch (): string | undefined {
  if (process.env[RELAUNCHED] === '1') return 'already relaunched'
  if (process.env.AUTH_PROXY_NO_RELAUNCH === '1') return 'AUTH_PROXY_NO_RELAUNCH=1'
  if (typeof process.execve !== 'function' || (process.platform !== 'linux' && process.platform !== 'darwin')) return 'no execve here'
  if (!isMainThread) return 'a worker thread'
  if (process.channel !== undefined || process.send !== undefined) return 'an IPC channel would be lost'
  if (inspectorUrl() !== undefined) return 'a debugger is attached'
  if ((process as { permission?: { has: (scope: string) => boolean } }).permission?.has('child') === false) return 'the permission model forbids it'
  try { accessSync(process.execPath, constants.X_OK) } catch { return `${process.execPath} is not executable` }
  return undefined
}

/**
 * Replaces this process (same pid: signals, probes and exit codes are unaffected) with node started with the missing
 * flags, once. Costs ~20 ms of start-up, only when started without them. Where that is not safe the proxy runs on
 * without them and says so on stderr (its memory after load is then higher; docs/performance.md).
 */
export function relaunchWithNodeFlags (): void {
  const missing = missingNodeFlags()
  if (missing.length === 0) return
  const why = cannotRelaunch()
  if (why !== undefined) {
    if (why !== 'already relaunched') process.stderr.write(`auth-proxy: running without ${missing.join(' ')} (${why})\n`)
    return
  }
  try {
    process.execve?.(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, [RELAUNCHED]: '1' })
  } catch (err) {
    process.stderr.write(`auth-proxy: running without ${missing.join(' ')} (${(err as Error).message})\n`)
  }
}
