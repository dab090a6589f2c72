// One declaration of every setting (config/settings.ts): the README's table is made from it and must equal it; the
// code reads no variable that is not declared, and every declared one is read; each default parses.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DEFAULTS } from '../../../services/auth-proxy/src/config.ts'
import { settingsTable } from '../../../services/auth-proxy/src/config/settings-table.ts'
import { AREAS, fileVariant, SETTINGS, type SettingName } from '../../../services/auth-proxy/src/config/settings.ts'
import { ROOT } from '../../helpers/process.ts'

const NAMES = Object.keys(SETTINGS) as SettingName[]

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    return e.isDirectory() ? sources(path) : e.name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : []
  })
}

t.test('the README\'s settings table is the one the declarations make (npm run docs:settings)', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.ok(readme.includes(settingsTable()), 'README.md is up to date')
})

t.test('every variable the code reads is declared, and every declared one is read', async (t) => {
  const code = sources(join(ROOT, 'services/auth-proxy/src')).join('\n')
  const read = new Set([...code.matchAll(/r\.(?:value|get|raw|secret|port|boolean|durationMs|integer|list|oneOf|isSet)\('([A-Z0-9_]+)'/g)].map((m) => m[1] ?? ''))
  const files = new Set(NAMES.map(fileVariant).filter((n) => n !== undefined))
  for (const name of read) t.ok(name in SETTINGS || files.has(name), `${name} is declared`)
  for (const name of NAMES) {
    const viaArea = /settingsIn\('/.test(code) // area-wide rules read their settings through the declaration
    t.ok(read.has(name) || (viaArea && SETTINGS[name].area !== 'Listeners' && code.includes(`'${name}'`)), `${name} is read`)
  }
})

t.test('each declaration is complete: an area, a doc sentence, a default that parses', async (t) => {
  for (const name of NAMES) {
    const s: { area: string, doc: string, default?: string } = SETTINGS[name]
    t.ok((AREAS as readonly string[]).includes(s.area), `${name}: area`)
    t.match(s.doc, /^.{10,}[.)]$/s, `${name}: one line of doc`)
    if (s.default !== undefined) t.not(DEFAULTS[name], undefined, `${name}: default parses`)
    const value = DEFAULTS[name] as unknown
    if (typeof value === 'number') t.ok(Number.isFinite(value), `${name}: a finite default`)
  }
})
