// What every way of running the demo Pod must show (real process, podman Pod, Compose): Hello World with the demo
// credentials, the Basic challenge without them, 401 with a wrong password.
import type { Test } from 'tap'
import { basic, send } from './http.ts'

export const DEMO_USER = 'admin'
export const DEMO_PASSWORD = 'admin1041'

export async function expectDemoSite (t: Test, url: string): Promise<void> {
  const ok = await send(`${url}/`, { headers: { authorization: basic(DEMO_USER, DEMO_PASSWORD) } })
  t.equal(ok.status, 200, 'demo credentials: 200')
  t.equal(ok.body, 'Hello World')
  const anonymous = await send(`${url}/`)
  t.equal(anonymous.status, 401, 'no credentials: 401')
  t.equal(anonymous.headers['www-authenticate'], 'Basic realm="Restricted", charset="UTF-8"')
  t.equal((await send(`${url}/`, { headers: { authorization: basic(DEMO_USER, 'wrong') } })).status, 401, 'wrong password: 401')
}
