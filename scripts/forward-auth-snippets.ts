// `npm run docs:snippets`: writes the nginx and Caddy snippets of README.md and docs/forward-auth.md from the
// configuration the tests start real nginx and Caddy with (test/helpers/ingress.ts), so what users copy is what is
// tested; test/auth-proxy/forward-auth/snippets.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { caddySite, nginxServer } from '../test/helpers/ingress.ts'

const ROOT = new URL('..', import.meta.url).pathname
export const SNIPPETS = {
  nginx: nginxServer('443 ssl', 'auth-proxy.my-apps.svc:8081', 'my-app.my-apps.svc:8080'),
  caddy: caddySite('app.example.org', 'auth-proxy.my-apps.svc:8081', 'my-app.my-apps.svc:8080')
}

for (const file of ['README.md', 'docs/forward-auth.md']) {
  const path = `${ROOT}${file}`
  let text = readFileSync(path, 'utf8')
  for (const [lang, body] of Object.entries(SNIPPETS)) {
    text = text.replace(new RegExp('```' + lang + '\\n[\\s\\S]*?\\n```'), () => '```' + lang + '\n' + body + '\n```')
  }
  writeFileSync(path, text)
  process.stdout.write(`${file}: snippets written\n`)
}
