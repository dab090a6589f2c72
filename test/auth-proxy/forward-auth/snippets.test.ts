// The configuration users copy is the configuration the tests run: the nginx and Caddy snippets in the README and
// docs/forward-auth.md are exactly what test/helpers/ingress.ts starts real nginx and Caddy with, and every rules
// example in the README and docs/authorization.md is a valid rules file.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { readRuleSet } from '../../../services/auth-proxy/src/authz/rules.ts'
import { caddySite, nginxServer } from '../../helpers/ingress.ts'
import { ROOT } from '../../helpers/process.ts'

const README = readFileSync(`${ROOT}README.md`, 'utf8')
const FORWARD = readFileSync(`${ROOT}docs/forward-auth.md`, 'utf8')
const AUTHZ = readFileSync(`${ROOT}docs/authorization.md`, 'utf8')
const NGINX = '```nginx\n' + nginxServer('443 ssl', 'auth-proxy.my-apps.svc:8081', 'my-app.my-apps.svc:8080') + '\n```'
const CADDY = '```caddy\n' + caddySite('app.example.org', 'auth-proxy.my-apps.svc:8081', 'my-app.my-apps.svc:8080') + '\n```'

t.test('the nginx and Caddy snippets are the tested configuration', async (t) => {
  for (const [name, text] of [['README.md', README], ['docs/forward-auth.md', FORWARD]] as const) {
    t.ok(text.includes(NGINX), `${name}: the nginx server block of test/helpers/ingress.ts (npm run docs:snippets)`)
    t.ok(text.includes(CADDY), `${name}: the Caddy site of test/helpers/ingress.ts (npm run docs:snippets)`)
  }
})

t.test('every rules example is a valid rules file', async (t) => {
  for (const [name, text] of [['README.md', README], ['docs/authorization.md', AUTHZ]] as const) {
    const examples = [...text.matchAll(/```yaml\n(default:[\s\S]*?)```/g)].map((m) => m[1] ?? '')
    t.ok(examples.length > 0, `${name} has a rules example`)
    for (const example of examples) t.ok(readRuleSet(parse(example)).rules.length > 0, `${name}: parses`)
  }
})
