// The process's entry point (`node dist/server.js`, `npm start`, `auth-proxy serve`): first the Node flags the
// proxy is meant to run with (node-flags.ts), then serve.ts — loaded only after, so a relaunch parses nothing twice.
import { relaunchWithNodeFlags } from './node-flags.ts'

relaunchWithNodeFlags()
await import('./serve.ts')
