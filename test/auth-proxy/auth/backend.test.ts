// The chain of credential backends (AUTH_BACKENDS): who wins, and which failure the client and the log see.
import t from 'tap'
import { AccessDenied, BackendUnavailable, PartlyRefused } from '../../../services/auth-proxy/src/errors.ts'
import { type PasswordVerifier, VerifierChain } from '../../../services/auth-proxy/src/auth/verifier.ts'

/** A backend with a fixed answer: the chain's rules are about answers, whichever backend gives them. */
function fixed (name: string, result: 'accept' | 'reject' | 'throw' | 'deny', ready = true): PasswordVerifier & { calls: number } {
  return {
    name,
    calls: 0,
    async verify (user) {
      this.calls++
      if (result === 'throw') throw new Error(`${name} down`)
      if (result === 'deny') throw new AccessDenied(`${name} denies`)
      return result === 'accept' ? { user, backend: name } : null
    },
    ready: () => ready
  }
}

t.test('chain: the first backend that accepts wins; later ones are not asked', async (t) => {
  const a = fixed('a', 'reject')
  const b = fixed('b', 'accept')
  const c = fixed('c', 'accept')
  t.same(await new VerifierChain([a, b, c]).verify('u', 'p'), { user: 'u', backend: 'b' })
  t.equal(c.calls, 0)
})

t.test('chain: all reject → null', async (t) => {
  t.equal(await new VerifierChain([fixed('a', 'reject'), fixed('b', 'reject')]).verify('u', 'p'), null)
})

t.test('chain: an unavailable backend does not hide an acceptance by another', async (t) => {
  t.same(await new VerifierChain([fixed('a', 'throw'), fixed('b', 'accept')]).verify('u', 'p'), { user: 'u', backend: 'b' })
})

t.test('chain: unavailable and no acceptance → the failure surfaces (not "wrong password")', async (t) => {
  await t.rejects(new VerifierChain([fixed('a', 'throw'), fixed('c', 'throw')]).verify('u', 'p'), /a down/)
  // One said no: still "could not decide", but marked so the throttle counts the guess (an LDAP outage is no free pass).
  const err = await new VerifierChain([fixed('a', 'throw'), fixed('b', 'reject')]).verify('u', 'p').catch((e: unknown) => e)
  t.ok(err instanceof PartlyRefused, 'PartlyRefused')
  t.ok(err instanceof BackendUnavailable, 'which is a BackendUnavailable')
  t.same((err as PartlyRefused).refusedBy, ['b'])
  t.match(((err as PartlyRefused).cause as Error).message, /a down/, 'the failure as its cause')
  // A no from a backend that does not hold the user (htpasswd, for an LDAP user) is no refusal: nothing to guess there.
  const stranger = { ...fixed('h', 'reject'), has: (user: string) => user === 'carol' }
  await t.rejects(new VerifierChain([stranger, fixed('a', 'throw')]).verify('alice', 'p'), { name: 'Error', message: 'a down' })
  await t.rejects(new VerifierChain([stranger, fixed('a', 'throw')]).verify('carol', 'p'), { name: 'PartlyRefused', refusedBy: ['h'] })
})

t.test('chain: a denial (right password, not allowed) beats "invalid", so the log says denied', async (t) => {
  await t.rejects(new VerifierChain([fixed('a', 'reject'), fixed('b', 'deny')]).verify('u', 'p'), { name: 'AccessDenied', message: /denies/ })
  await t.rejects(new VerifierChain([fixed('a', 'deny'), fixed('b', 'reject')]).verify('u', 'p'), { name: 'AccessDenied', message: /denies/ })
})

t.test('chain: a denial does not stop a later backend from accepting', async (t) => {
  t.same(await new VerifierChain([fixed('a', 'deny'), fixed('b', 'accept')]).verify('u', 'p'), { user: 'u', backend: 'b' })
})

t.test('chain: unavailable beats a denial (the unavailable backend might have accepted)', async (t) => {
  await t.rejects(new VerifierChain([fixed('a', 'deny'), fixed('b', 'throw')]).verify('u', 'p'), { name: 'PartlyRefused', cause: { message: /b down/ } })
})

t.test('chain: ready while any backend is ready; status names each', async (t) => {
  t.equal(new VerifierChain([fixed('a', 'accept', false), fixed('b', 'accept', true)]).ready(), true)
  t.equal(new VerifierChain([fixed('a', 'accept', false), fixed('b', 'accept', false)]).ready(), false)
  t.same(new VerifierChain([fixed('a', 'accept', false), fixed('b', 'accept', true)]).status(), { a: { ready: false }, b: { ready: true } })
})
