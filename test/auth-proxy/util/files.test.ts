// The file poller behind every re-read file (htpasswd, groups, rules, TLS): a new version is taken once, a touch
// without change is not, and — regression — a change made while the first version was being read is noticed.
import { writeFileSync } from 'node:fs'
import t from 'tap'
import { FilePoller, filesFingerprint } from '../../../services/auth-proxy/src/util/files.ts'
import { tempDir } from '../../helpers/htpasswd.ts'

t.test('regression: a file changed while it was read at start-up is noticed at the first check', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const file = dir.file('rules.yaml', 'rules: [{ prefix: /, allow: public }]\n')
  const seen = await filesFingerprint([file]) // taken before reading, as the loaders do
  writeFileSync(file, 'rules: [{ prefix: /, deny: all }]\n') // …and the file changes while it is being read
  let reloads = 0
  const poller = new FilePoller([file], async () => { reloads++; return await Promise.resolve(true) })
  poller.prime(seen)
  t.equal(await poller.check(), true, 'the change is seen')
  t.equal(reloads, 1)
  t.equal(await poller.check(), false, 'and taken once')
})

t.test('a new version is taken once; the same content rewritten counts as a version (the loader compares content)', async (t) => {
  const dir = tempDir()
  t.teardown(() => { dir.remove() })
  const file = dir.file('f', 'a')
  const poller = new FilePoller([file], async () => await Promise.resolve(true))
  poller.prime(await filesFingerprint([file]))
  t.equal(await poller.check(), false, 'unchanged')
  await new Promise((resolve) => setTimeout(resolve, 20))
  writeFileSync(file, 'b')
  t.equal(await poller.check(), true)
  t.equal(await poller.check(), false)
})
