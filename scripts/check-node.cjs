// Stops `npm ci`, `npm start` and `npm test` at once, with the fix, on a Node.js that cannot run the project.
// CommonJS and old syntax on purpose: it must run on the very versions it refuses (Debian 12 ships Node 18/20).
'use strict'
/* global process */
var parts = process.versions.node.split('.').map(Number)
var major = parts[0]
var minor = parts[1]
// http's shouldUpgradeCallback (22.21 / 24.9) and type stripping of the .ts scripts.
var ok = (major === 22 && minor >= 21) || (major === 24 && minor >= 9) || major > 24
if (!ok) {
  process.stderr.write(
    'This project needs Node.js 22.21+ or 24.9+; this is Node.js ' + process.version + ' (' + process.execPath + ').\n' +
    'Fix: run `. scripts/node24.sh` in this shell (it fetches Node 24 from the npm registry into .tools/ and puts it\n' +
    'first on PATH), then run the command again.\n')
  process.exit(1)
}
