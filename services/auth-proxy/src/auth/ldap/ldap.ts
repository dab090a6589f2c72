// Checks Basic credentials against an LDAP directory (RFC 4511/4513): direct bind with a DN template, or
// search-then-bind with an optional service account; optional group gate; groups passed upstream.
//
// "Wrong password" and "directory unavailable" are kept apart everywhere: the server answering with a result
// code (invalidCredentials, …) is a decision; a refused, reset or timed-out connection or an untrusted
// certificate is not, and becomes a 503 (BackendUnavailableError) and "not ready" — never a 401.
import { readFile } from 'node:fs/promises'
import type { Entry } from 'ldapts'
import { AccessDenied, BackendUnavailable, CredentialsLoadError } from '../../errors.ts'
import { BackendHealth, type HealthStatus, checkNowAndEvery } from '../../util/health.ts'
import { isCleartextRemote, USER_PLACEHOLDER, type LdapConfig } from './config.ts'
import { isLdapResult, LdapConnectionPool, LdapServers, type LdapConnection } from './connection.ts'
import { escapeDnValue, escapeFilterValue, firstRdnValue, normalizeDn } from './syntax.ts'
import { cannotRead } from '../../util/files.ts'
import { readPasswordFile } from '../../util/secret-file.ts'
import type { OperatorLog } from '../../log.ts'
import type { PasswordVerifier } from '../verifier.ts'
import type { Identity } from '../identity.ts'

export const LDAP_BACKEND_NAME = 'ldap'
/** Connections used for user binds at once; the verify cache keeps the directory's share of traffic small. */
export const LDAP_MAX_USER_CONNECTIONS = 4

/** LDAP result codes that mean "the server cannot decide now", not "these credentials are refused". */
const TRANSIENT_RESULT_CODES = new Set([
  3, // timeLimitExceeded
  11, // adminLimitExceeded
  51, // busy
  52, // unavailable
  80 // other
])

/**
 * The directory could not decide, with a short reason for logs and /readyz (never a password). Not retryable when
 * retrying cannot help: every server was just tried afresh, or the server itself answered.
 */
function unavailable (what: string, err: unknown, retryable = true): BackendUnavailable {
  const reason = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)
  return new BackendUnavailable(`${what}: ${reason}`, { cause: err, retryable: retryable && !isLdapResult(err) })
}

function attributeValues (entry: Entry, name: string): string[] {
  // ldapts keys attributes as the server spelt them; compare names case-insensitively (RFC 4512 §2.5).
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase())
  const value = key === undefined ? undefined : entry[key]
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value]
  return values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v))
}

export class LdapBackend implements PasswordVerifier {
  readonly name = LDAP_BACKEND_NAME
  readonly #config: LdapConfig
  readonly #servers: LdapServers
  readonly #log: OperatorLog | undefined
  /** Connection for searches, bound as the service account (or anonymous); shared, its bind state never changes. */
  #service: LdapConnection | undefined
  #servicePending: Promise<LdapConnection> | undefined
  /** Connections for user binds, whose bind state changes with every login. */
  readonly #pool: LdapConnectionPool
  readonly #health: BackendHealth
  #stopChecks: () => void = () => {}

  private constructor (config: LdapConfig, ca: string | undefined, log: OperatorLog | undefined) {
    this.#config = config
    this.#log = log
    this.#servers = new LdapServers({
      urls: config.urls,
      startTls: config.startTls,
      ...(ca !== undefined && { ca }),
      connectTimeoutMs: config.connectTimeoutMs,
      timeoutMs: config.timeoutMs
    })
    this.#pool = new LdapConnectionPool(this.#servers, LDAP_MAX_USER_CONNECTIONS)
    this.#health = new BackendHealth('LDAP directory', () => this.#servers.current, log)
  }

  /**
   * Reads the CA and bind password files (a start-up error when unreadable), checks the directory once and keeps
   * checking it every LDAP_HEALTH_INTERVAL. A directory that is down at start-up is not an error: the proxy
   * starts not ready and becomes ready when the directory answers.
   */
  static async load (config: LdapConfig, log?: OperatorLog): Promise<LdapBackend> {
    let ca: string | undefined
    if (config.caFile !== undefined) {
      try {
        ca = await readFile(config.caFile, 'utf8')
      } catch (err) {
        throw new CredentialsLoadError(cannotRead('LDAP_CA_FILE', config.caFile, err), { cause: err })
      }
    }
    if (config.bindPasswordFile !== undefined) await readPasswordFile(config.bindPasswordFile, 'LDAP_BIND_PASSWORD_FILE')
    const cleartext = config.urls.filter((url) => isCleartextRemote(url, config.startTls))
    if (cleartext.length > 0) {
      log?.warn({ servers: cleartext }, 'LDAP without TLS: passwords cross the network in clear; use ldaps:// or LDAP_STARTTLS=true')
    }
    const backend = new LdapBackend(config, ca, log)
    backend.#stopChecks = await checkNowAndEvery(async () => await backend.check(), config.healthIntervalMs)
    return backend
  }

  ready (): boolean { return this.#health.up }

  status (): HealthStatus { return this.#health.status() }

  /** One health check: the service connection answers a search. Never throws. */
  async check (): Promise<boolean> {
    try {
      const service = await this.#serviceConnection()
      await service.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }).catch((err: unknown) => {
        if (!isLdapResult(err)) throw err // an answer, even a refusal, proves the directory is there
      })
      this.#health.markUp()
    } catch (err) {
      this.#dropService()
      this.#health.markDown((err instanceof BackendUnavailable ? err : unavailable('health check', err)).message)
    }
    return this.#health.up
  }

  async verify (user: string, password: string): Promise<Identity | null> {
    // RFC 4513 §5.1.2: a simple bind with a name and an empty password is an "unauthenticated bind", which many
    // servers answer with success. It must never count as a login.
    if (password === '' || user === '') return null
    try {
      const identity = await this.#withRetry(async () => await this.#verifyOnce(user, password))
      this.#health.markUp()
      return identity
    } catch (err) {
      if (err instanceof AccessDenied) { this.#health.markUp(); throw err }
      const failure = err instanceof BackendUnavailable ? err : unavailable('verify', err)
      this.#health.markDown(failure.message)
      throw failure
    }
  }

  /**
   * A reused connection the server dropped while idle fails once; the operation is then repeated on a fresh one
   * (binds and searches are idempotent). A failure to connect at all is not retried: every server was just tried.
   */
  async #withRetry<T> (operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (err) {
      if (!(err instanceof BackendUnavailable) || !err.retryable) throw err
      return await operation()
    }
  }

  async #verifyOnce (user: string, password: string): Promise<Identity | null> {
    const config = this.#config
    if (config.bindDnTemplate !== undefined) {
      const dn = config.bindDnTemplate.replaceAll(USER_PLACEHOLDER, escapeDnValue(user))
      return await this.#withUserConnection(async (connection) => {
        if (!await this.#userBind(connection, dn, password)) return null
        // The entry as the user sees it: the directory's spelling of the name and memberOf.
        const entry = (await this.#search(connection, dn, { scope: 'base', filter: '(objectClass=*)', attributes: [config.userAttribute, 'memberOf'] }, true))[0]
        const groupsVia = config.bindDn !== undefined ? await this.#serviceConnection() : connection
        return await this.#identity(user, dn, entry, groupsVia)
      })
    }
    // Search-then-bind. RFC 4515 escaping keeps the name a single assertion value: `*`, `(`, `)` cannot widen it.
    const service = await this.#serviceConnection()
    const filter = config.searchFilter.replaceAll(USER_PLACEHOLDER, escapeFilterValue(user))
    const entries = await this.#search(service, config.searchBase ?? '', { scope: 'sub', filter, attributes: [config.userAttribute, 'memberOf'], sizeLimit: 2 })
    if (entries.length !== 1) {
      // None: unknown user. Several: the filter is ambiguous; binding as "one of them" would be a guess.
      if (entries.length > 1) this.#log?.warn({ backend: this.name, matches: entries.length }, 'LDAP_SEARCH_FILTER matched more than one entry; login refused')
      return null
    }
    const entry = entries[0]
    if (entry === undefined) return null
    const ok = await this.#withUserConnection(async (connection) => await this.#userBind(connection, entry.dn, password))
    return ok ? await this.#identity(user, entry.dn, entry, service) : null
  }

  /** True when the directory accepted the password; false when it refused it; throws when it could not decide. */
  async #userBind (connection: LdapConnection, dn: string, password: string): Promise<boolean> {
    try {
      await connection.bind(dn, password)
      return true
    } catch (err) {
      // invalidCredentials, and the policy refusals (account locked/disabled, unwillingToPerform, …).
      if (isLdapResult(err) && !TRANSIENT_RESULT_CODES.has(err.code)) return false
      throw unavailable('bind', err)
    }
  }

  async #search (connection: LdapConnection, base: string, options: Parameters<LdapConnection['search']>[1], tolerant = false): Promise<Entry[]> {
    try {
      return await connection.search(base, options)
    } catch (err) {
      // A user who may not read their own entry still logs in, under the name they typed.
      if (tolerant && isLdapResult(err) && !TRANSIENT_RESULT_CODES.has(err.code)) return []
      throw unavailable(`search ${base}`, err)
    }
  }

  async #identity (typed: string, dn: string, entry: Entry | undefined, groupsVia: LdapConnection): Promise<Identity> {
    const groupDns = await this.#groupsOf(dn, entry === undefined ? [] : attributeValues(entry, 'memberOf'), groupsVia)
    const required = this.#config.requiredGroups
    if (required.length > 0 && !required.some((g) => groupDns.has(normalizeDn(g)))) {
      throw new AccessDenied(`not a member of any of LDAP_REQUIRED_GROUPS`)
    }
    const names = [...new Set([...groupDns.values()].map((g) => firstRdnValue(g)).filter((n): n is string => n !== undefined))].sort()
    const user = (entry === undefined ? undefined : attributeValues(entry, this.#config.userAttribute)[0]) ?? typed
    return { user, backend: this.name, groups: names }
  }

  /** Group DNs (keyed by normalised DN): the user's memberOf, plus groups listing the user as member/uniqueMember. */
  async #groupsOf (dn: string, memberOf: readonly string[], connection: LdapConnection): Promise<Map<string, string>> {
    const found = new Map(memberOf.map((g) => [normalizeDn(g), g]))
    const who = escapeFilterValue(dn)
    const filter = `(|(member=${who})(uniqueMember=${who}))`
    const base = this.#config.groupSearchBase
    if (base !== undefined) {
      for (const group of await this.#search(connection, base, { scope: 'sub', filter, attributes: ['1.1'] })) found.set(normalizeDn(group.dn), group.dn)
    } else {
      // No base to search: ask each required group directly whether it lists the user.
      for (const group of this.#config.requiredGroups) {
        if (found.has(normalizeDn(group))) continue
        const hit = await this.#search(connection, group, { scope: 'base', filter, attributes: ['1.1'] }, true)
        if (hit.length > 0) found.set(normalizeDn(group), group)
      }
    }
    return found
  }

  async #serviceConnection (): Promise<LdapConnection> {
    const { bindDn } = this.#config
    const current = this.#service
    if (current?.connected === true && (bindDn === undefined || current.boundAs === bindDn)) return current
    this.#servicePending ??= (async () => {
      this.#dropService()
      let connection: LdapConnection
      try {
        connection = await this.#servers.connect()
      } catch (err) {
        throw unavailable(`connect ${this.#servers.current}`, err, false)
      }
      if (bindDn !== undefined) {
        try {
          await connection.bind(bindDn, await this.#bindPassword())
        } catch (err) {
          connection.close()
          throw unavailable('LDAP_BIND_DN bind (check the service account\'s DN and password)', err)
        }
      }
      this.#service = connection
      return connection
    })().finally(() => { this.#servicePending = undefined })
    return await this.#servicePending
  }

  async #bindPassword (): Promise<string> {
    const { bindPasswordFile, bindPassword } = this.#config
    return bindPasswordFile !== undefined ? await readPasswordFile(bindPasswordFile, 'LDAP_BIND_PASSWORD_FILE') : bindPassword ?? ''
  }

  #dropService (): void {
    this.#service?.close()
    this.#service = undefined
  }

  async #withUserConnection<T> (use: (connection: LdapConnection) => Promise<T>): Promise<T> {
    let connection: LdapConnection
    try {
      connection = await this.#pool.acquire()
    } catch (err) {
      throw unavailable(`connect ${this.#servers.current}`, err, false)
    }
    let reusable = true
    try {
      return await use(connection)
    } catch (err) {
      // The server answered (a refusal, a denial): the connection is fine. Anything else may have broken it.
      reusable = isLdapResult(err) || isLdapResult((err as Error).cause) || err instanceof AccessDenied
      throw err
    } finally {
      this.#pool.release(connection, reusable)
    }
  }

  async close (): Promise<void> {
    this.#stopChecks()
    this.#dropService()
    this.#pool.close()
    await Promise.resolve()
  }
}
