// `npm run docs:settings`: writes the settings table into the README from the declarations (settings.ts).
import { readFileSync, writeFileSync } from 'node:fs'
import { withSettingsTable } from '../services/auth-proxy/src/config/settings-table.ts'

const path = new URL('../README.md', import.meta.url)
writeFileSync(path, withSettingsTable(readFileSync(path, 'utf8')))
process.stderr.write('README.md: settings table written\n')
