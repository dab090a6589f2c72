// The README's settings table, made from the declarations (settings.ts): one table per area, in declaration order.
// `npm run docs:settings` writes it into the README; a test keeps the two equal.
import { AREAS, fileVariant, SETTINGS, settingsIn, type Setting, type SettingName } from './settings.ts'

export const TABLE_START = '<!-- settings: generated from services/auth-proxy/src/config/settings.ts by `npm run docs:settings` -->'
export const TABLE_END = '<!-- end of settings -->'

function defaultCell (name: SettingName): string {
  const setting: Setting = SETTINGS[name]
  if (setting.default !== undefined) return `\`${setting.default}\``
  return setting.defaultDoc ?? '—'
}

export function settingsTable (): string {
  const parts: string[] = []
  for (const area of AREAS) {
    const names = settingsIn(area)
    if (names.length === 0) continue
    parts.push(`#### ${area}`, '', '| Variable | Default | Meaning |', '| --- | --- | --- |')
    for (const name of names) {
      const file = fileVariant(name)
      const variable = file === undefined ? `\`${name}\`` : `\`${name}\`, \`${file}\``
      parts.push(`| ${variable} | ${defaultCell(name)} | ${SETTINGS[name].doc} |`)
    }
    parts.push('')
  }
  return `${TABLE_START}\n${parts.join('\n')}${TABLE_END}`
}

/** The README with its settings table replaced by a fresh one. */
export function withSettingsTable (readme: string): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start === -1 || end < start) throw new Error('README has no settings table markers')
  return `${readme.slice(0, start)}${settingsTable()}${readme.slice(end + TABLE_END.length)}`
}
