// Bundles the auth-proxy for its image: one ESM entry plus chunks for what loads lazily (LDAP, OpenID Connect),
// instead of ~400 module files. Node spends most of a cold start resolving, reading and compiling modules; the
// bundle starts ~30 % faster (docs/benchmarks.md). Native addons (bcrypt) stay in node_modules.
//   node scripts/bundle.ts [OUTDIR]   → services/auth-proxy/bundle/cli.js (from dist/, so run tsc -b first)
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const service = fileURLToPath(new URL('../services/auth-proxy/', import.meta.url))

await build({
  entryPoints: [`${service}dist/cli.js`],
  outdir: process.argv[2] ?? `${service}bundle`,
  bundle: true,
  splitting: true, // keeps `await import('./ldap.js')` etc. lazy: separate chunks, loaded only when configured
  format: 'esm',
  platform: 'node',
  target: 'node24',
  external: ['bcrypt'], // a native addon: loaded from node_modules at run time
  // Bundled CommonJS dependencies call require(); ESM has none, so give them one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning'
})
