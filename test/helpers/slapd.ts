// A real OpenLDAP server (Debian's slapd) for the LDAP tests: its own config, database and TLS certificate in a
// temporary directory, listening on loopback ports, loaded with a directory the tests define (ldapadd, so
// the memberof overlay fills in memberOf as it would in production). Stoppable and restartable on the same ports.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { makeCa, makeServerCert } from './certs.ts'
import { tempDir, type TempDir } from './htpasswd.ts'
import { freePort, startUpstream, type Upstream } from './upstream.ts'

export const SUFFIX = 'dc=example,dc=org'
export const ROOT_DN = `cn=admin,${SUFFIX}`
export const ROOT_PASSWORD = 'root-secret'
/** The service account tests use for search-then-bind. */
export const SERVICE_DN = `cn=proxy,ou=services,${SUFFIX}`
export const SERVICE_PASSWORD = 'service-secret'

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS available). */
  readonly url: string
  /** ldaps://127.0.0.1:PORT */
  readonly ldapsUrl: string
  /** The CA that signed the server's certificate. */
  readonly caFile: string
  readonly dir: TempDir
  stop (): Promise<void>
  start (): Promise<void>
  /** Adds entries (LDIF) as the root DN. */
  add (ldif: string): void
}

function config (dir: string, cert: { cert: string, key: string }, caFile: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
# Like many production directories (and AD), accept a DN with an empty password as an anonymous bind: the
# classic LDAP auth bypass the proxy must close itself.
allow bind_anon_dn
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${caFile}
TLSCertificateFile ${cert.cert}
TLSCertificateKeyFile ${cert.key}
database mdb
maxsize 10485760
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PASSWORD}
directory ${dir}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by anonymous read
`
}

async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

export async function startSlapd (ldif: string): Promise<Slapd> {
  const dir = tempDir()
  mkdirSync(join(dir.path, 'db'))
  const caFile = makeCa(dir.path)
  const cert = makeServerCert(dir.path, 'slapd')
  const conf = dir.file('slapd.conf', config(dir.path, cert, caFile))
  const [port, ldapsPort] = [await freePort(), await freePort()]
  const url = `ldap://127.0.0.1:${port}`
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`
  let child: ChildProcess | undefined
  let stderr = ''

  const start = async (): Promise<void> => {
    // -d keeps slapd in the foreground (so the test owns the process); 0 keeps it quiet.
    child = spawn('/usr/sbin/slapd', ['-f', conf, '-h', `${url}/ ${ldapsUrl}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`slapd exited ${child.exitCode}: ${stderr}`)
      if (await listening(port) && await listening(ldapsPort)) return
      await sleep(25)
    }
    throw new Error(`slapd did not listen: ${stderr}`)
  }
  const stop = async (): Promise<void> => {
    const running = child
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGTERM')
    await exited
    child = undefined
  }
  const add = (entries: string): void => {
    execFileSync('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PASSWORD], { input: entries, stdio: ['pipe', 'ignore', 'pipe'] })
  }

  await start()
  add(ldif)
  return { url, ldapsUrl, caFile, dir, stop, start, add }
}

export interface SlapdFixture { slapd: Slapd, upstream: Upstream }

/** A slapd loaded with `ldif` and an echo upstream, started before a file's tests and stopped after them. */
export function slapdFixture (tap: { before: (fn: () => Promise<void>) => void, teardown: (fn: () => Promise<void>) => void }, ldif = DIRECTORY): SlapdFixture {
  // Filled in by `before`, which runs ahead of every test of the file.
  const fixture = {} as SlapdFixture
  tap.before(async () => {
    fixture.slapd = await startSlapd(ldif)
    fixture.upstream = await startUpstream()
  })
  tap.teardown(async () => {
    await fixture.upstream.close()
    await fixture.slapd.stop()
    fixture.slapd.dir.remove()
  })
  return fixture
}

/** The directory most tests use: people, a service account, groups, and a user outside every group. */
export const DIRECTORY = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,${SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=services,${SUFFIX}
objectClass: organizationalUnit
ou: services

dn: ou=groups,${SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ${SERVICE_DN}
objectClass: person
cn: proxy
sn: proxy
userPassword: ${SERVICE_PASSWORD}

dn: uid=alice,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Liddell
mail: alice@example.org
userPassword: alice-pw

dn: uid=bob,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
userPassword: bob-pw

dn: uid=carol,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Outsider
userPassword: carol-pw

dn: uid=dave,ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: Unique
userPassword: dave-pw

dn: cn=researchers,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: researchers
member: uid=alice,ou=people,${SUFFIX}
member: uid=bob,ou=people,${SUFFIX}

dn: cn=admins,ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,${SUFFIX}

dn: cn=legacy,ou=groups,${SUFFIX}
objectClass: groupOfUniqueNames
cn: legacy
uniqueMember: uid=dave,ou=people,${SUFFIX}
`

