// undici's Pool module on its own (proxy/upstream.ts imports it so as not to load undici's whole index). Typed as
// what it is without the index: the index is what adds request/stream/pipeline/upgrade/connect to Dispatcher's
// prototype, so only dispatch and the lifecycle exist here: calling the missing methods must not type-check.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'
  export type BarePool = Pick<Pool, 'dispatch' | 'close' | 'destroy' | 'closed' | 'destroyed' | 'on' | 'once' | 'off' | 'stats'>
  const PoolClass: new (url: string | URL, options?: Pool.Options) => BarePool
  export default PoolClass
}
