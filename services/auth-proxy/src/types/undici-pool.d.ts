// undici's Pool module on its own (proxy/upstream.ts imports it so as not to load undici's whole index).
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'
  const PoolClass: typeof Pool
  export default PoolClass
}
