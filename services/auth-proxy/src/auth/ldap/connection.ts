// Connections to the directory: failover across LDAP_URLs, StartTLS before anything else is sent, and a
// guard that no reconnect ever happens in clear on a StartTLS connection.
import { Socket, isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { Client, ResultCodeError, type SearchOptions, type Entry } from 'ldapts'
import { bareHost } from '../../util/net.ts'

export interface LdapServerOptions {
  readonly urls: readonly string[]
  readonly startTls: boolean
  /** PEM CA bundle; the system's CAs when undefined. Verification is always on. */
  readonly ca?: string
  readonly connectTimeoutMs: number
  readonly timeoutMs: number
}

/**
 * True when the directory answered with an LDAP result (wrong password, no such object, …), i.e. it is up.
 * Anything else — refused, reset, timed out, a certificate the CA does not vouch for — means it could not decide.
 */
export function isLdapResult (err: unknown): err is ResultCodeError {
  return err instanceof ResultCodeError
}

/** One connection to one of the servers. Operations must not run concurrently if they change the bind state. */
export class LdapConnection {
  readonly url: string
  /** DN this connection is bound as; undefined when anonymous or when the connection was (re)established. */
  boundAs: string | undefined
  readonly #client: Client
  readonly #options: LdapServerOptions
  readonly #tlsOptions: ConnectionOptions
  /** Set while our own StartTLS negotiation may open the plain TCP socket; any other plain connect is refused. */
  #upgrading = false

  constructor (url: string, options: LdapServerOptions) {
    this.url = url
    this.#options = options
    const { hostname } = new URL(url)
    const host = bareHost(hostname)
    const tlsOptions: ConnectionOptions = {
      ...(options.ca !== undefined && { ca: options.ca }),
      rejectUnauthorized: true,
      host,
      // SNI takes names only (RFC 6066 §3); an IP is checked against the certificate's IP SANs via `host`.
      ...(isIP(host) === 0 && { servername: host })
    }
    this.#client = new Client({
      url,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is given: only for ldaps://.
      ...(url.startsWith('ldaps:') && { tlsOptions }),
      ...(options.startTls && {
        createConnection: ((port: number, h: string) => {
          if (this.#upgrading) return new Socket().connect(port, h)
          // ldapts reconnects by itself when an operation finds the socket closed; with StartTLS that new socket
          // would carry a bind password in clear. Refuse it: the operation fails and is retried on a fresh,
          // properly upgraded connection.
          const refused = new Socket()
          process.nextTick(() => refused.destroy(new Error('refusing to reconnect without StartTLS')))
          return refused
        }) as unknown as typeof import('node:net').connect // ldapts calls it as (port, host) only
      })
    })
    this.#tlsOptions = tlsOptions
  }

  get connected (): boolean { return this.#client.isConnected }

  /** Connects (and upgrades with StartTLS) when not connected; forgets the bind state of a lost connection. */
  async open (): Promise<void> {
    if (this.#client.isConnected) return
    this.boundAs = undefined
    if (!this.#options.startTls) {
      // Any operation connects; reading the root DSE's nothing is the cheapest one that proves the server is there.
      await this.#client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }).catch((err: unknown) => {
        if (!isLdapResult(err)) throw err // a refusal to read the root DSE still proves the server is there
      })
      return
    }
    this.#upgrading = true
    try {
      await this.#client.startTLS({ ...this.#tlsOptions })
    } finally {
      this.#upgrading = false
    }
  }

  async bind (dn: string, password: string): Promise<void> {
    await this.open()
    this.boundAs = undefined
    await this.#client.bind(dn, password)
    this.boundAs = dn
  }

  async search (base: string, options: SearchOptions): Promise<Entry[]> {
    await this.open()
    const result = await this.#client.search(base, options)
    return result.searchEntries
  }

  close (): void {
    this.boundAs = undefined
    this.#client.unbind().catch(() => { /* the connection is being dropped either way */ })
  }
}

/** Opens connections, trying the servers in order and starting from the last one that answered. */
export class LdapServers {
  readonly #options: LdapServerOptions
  #preferred = 0

  constructor (options: LdapServerOptions) {
    if (options.urls.length === 0) throw new Error('LdapServers needs at least one URL')
    this.#options = options
  }

  /** The server new connections go to first. */
  get current (): string { return this.#options.urls[this.#preferred] ?? '' }

  async connect (): Promise<LdapConnection> {
    const urls = this.#options.urls
    let lastError: unknown
    for (let i = 0; i < urls.length; i++) {
      const index = (this.#preferred + i) % urls.length
      const connection = new LdapConnection(urls[index] ?? '', this.#options)
      try {
        await connection.open()
        this.#preferred = index
        return connection
      } catch (err) {
        connection.close()
        lastError = err
      }
    }
    throw lastError
  }
}

/**
 * Connections for user binds: each is used by one login at a time (a bind changes who the connection is), up to
 * `max` at once; later logins wait for one to come back. Connections the server closed while idle are dropped.
 */
export class LdapConnectionPool {
  readonly #servers: LdapServers
  readonly #max: number
  readonly #idle: LdapConnection[] = []
  readonly #waiters: Array<() => void> = []
  #open = 0
  #closed = false

  constructor (servers: LdapServers, max: number) {
    this.#servers = servers
    this.#max = max
  }

  /** Rejects with the connection error when no server could be reached. */
  async acquire (): Promise<LdapConnection> {
    for (;;) {
      if (this.#closed) throw new Error('connection pool closed')
      const idle = this.#idle.pop()
      if (idle !== undefined) {
        if (idle.connected) return idle
        idle.close() // the server closed it while idle
        this.#open--
        continue
      }
      if (this.#open < this.#max) {
        this.#open++
        try {
          return await this.#servers.connect()
        } catch (err) {
          this.#open--
          this.#waiters.shift()?.()
          throw err
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** Hands the connection back; one that may be broken (`reusable` false) is closed instead. */
  release (connection: LdapConnection, reusable: boolean): void {
    if (reusable && connection.connected && !this.#closed) {
      this.#idle.push(connection)
    } else {
      connection.close()
      this.#open--
    }
    this.#waiters.shift()?.()
  }

  close (): void {
    this.#closed = true
    for (const connection of this.#idle.splice(0)) connection.close()
    for (const wake of this.#waiters.splice(0)) wake()
  }
}
