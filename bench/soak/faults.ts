// The faults a Pod meets in its life, injected on a schedule during the soak run, each with the window in which it
// may explain a failure, the kinds of traffic it touches and the results it may cause. A failure outside every
// window, or of another result, is "unexplained": the soak run exists to find those.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Outcome } from './traffic.ts'

export interface FaultWindow {
  readonly fault: string
  readonly from: number
  readonly to: number
  readonly kinds: readonly string[]
  /** Results the fault may cause; '*' for any. */
  readonly results: readonly string[]
}

export interface Fault {
  readonly name: string
  /** Injects the fault and undoes it; resolves when the system should be back to normal. */
  run (): Promise<void>
  /** How long after `run` resolved failures may still be this fault's (recovery, retries, refreshes). */
  readonly graceMs: number
  readonly kinds: readonly string[]
  readonly results: readonly string[]
}

/** Runs the faults one after another, `spacingMs` apart, until `running()` is false, recording their windows. */
export async function injectFaults (faults: readonly Fault[], spacingMs: number, now: () => number, running: () => boolean,
  log: (msg: string) => void): Promise<FaultWindow[]> {
  const windows: FaultWindow[] = []
  for (let i = 0; running(); i++) {
    await sleep(spacingMs)
    if (!running()) break
    const fault = faults[i % faults.length]
    if (fault === undefined) break
    const from = now()
    log(`fault: ${fault.name}`)
    try { await fault.run() } catch (err) { log(`fault ${fault.name} failed: ${(err as Error).message}`) }
    windows.push({ fault: fault.name, from, to: now() + fault.graceMs, kinds: fault.kinds, results: fault.results })
  }
  return windows
}

/** The fault whose window explains a failed outcome (the request overlapped it), or undefined. */
export function explain (outcome: Outcome, windows: readonly FaultWindow[]): string | undefined {
  const began = outcome.at - outcome.ms
  for (const w of windows) {
    if (began > w.to || outcome.at < w.from) continue
    if (!w.kinds.includes(outcome.kind)) continue
    if (w.results.includes('*') || w.results.includes(outcome.result)) return w.fault
  }
  return undefined
}
