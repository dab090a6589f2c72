// The Node flags the proxy runs with — one list, whoever starts it: the image's ENTRYPOINT names them (so it starts
// with no detour; test/auth-proxy/node-flags.test.ts keeps them equal), the benchmark and the soak read them from
// here, and `node dist/server.js` or `npm start` without them re-executes itself with them (server.ts). V8 fixes
// its heap layout at start-up: `v8.setFlagsFromString('--max-semi-space-size=…')` after that is accepted and ignored
// (measured: the young generation still grew to 128 MB), so a launcher is the only way to make them hold.

/**
 * `--max-semi-space-size=8`: Node 24's V8 lets the young generation grow to 64 MB per semi-space under a proxy's
 * allocation rate (buffers and headers per request, all short-lived); 8 MB keeps RSS after load ~60 MB lower at
 * the same throughput (docs/performance.md).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8']

/** The flag's name (`--max-semi-space-size`), so a value the user chose (command line or NODE_OPTIONS) wins. */
function flagName (flag: string): string { return flag.split('=')[0] ?? flag }

/** The flags of NODE_FLAGS this process was started without. */
export function missingNodeFlags (execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map(flagName)
  return NODE_FLAGS.filter((f) => !given.includes(flagName(f)))
}

/**
 * Replaces this process (same pid: signals, probes and exit codes are unaffected) with node started with the missing
 * flags, once — after it they are present. Costs ~20 ms of start-up, only when started without them. Where
 * process.execve does not exist (Windows, Node < 22.15) the proxy runs on without them.
 */
export function relaunchWithNodeFlags (): void {
  const missing = missingNodeFlags()
  if (missing.length === 0 || typeof process.execve !== 'function') return
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], process.env)
}
