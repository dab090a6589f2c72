// Every setting the proxy reads, declared once: its name, kind, default, the area (and credential method) it
// belongs to, and one line of doc. Parsing (reader.ts), the all-problems-at-once report and the README's settings
// table (scripts/settings-table.ts, kept equal to the README by test/auth-proxy/config/settings.test.ts) all come
// from here. Rules between settings ("X needs Y") live with their area (config.ts, auth-config.ts, the methods'
// config readers); the value of each setting is what this says.

/** Where a setting belongs; the README groups the table by it. */
export const AREAS = Object.freeze(['Listeners', 'The app', 'Clients', 'htpasswd and a static user', 'LDAP', 'OpenID Connect',
  'Sessions', 'Authentication', 'Authorization', 'Forward auth', 'Identity headers', 'Throttle and cache', 'Shared state', 'Behind a router', 'Shutdown', 'TLS', 'Logging'] as const)
export type Area = typeof AREAS[number]

export type Kind =
  | { readonly type: 'string' }
  /** Untrimmed: passwords may begin or end with spaces. With `file`, NAME_FILE is read instead when set. */
  | { readonly type: 'secret', readonly file?: true }
  | { readonly type: 'port' }
  | { readonly type: 'boolean' }
  /** "500ms", "30s", "2m", "1h"; a bare number is seconds. `zero`: 0 means none. */
  | { readonly type: 'duration', readonly zero?: true }
  | { readonly type: 'integer', readonly min: number, readonly max: number }
  /** Comma-separated, blanks dropped. */
  | { readonly type: 'list' }
  | { readonly type: 'enum', readonly values: readonly string[] }

export interface Setting {
  readonly area: Area
  readonly kind: Kind
  /** As it would be written in the environment; parsed like a set value. */
  readonly default?: string
  /** The default's description when it is not a fixed value ("derived", "every configured one"). */
  readonly defaultDoc?: string
  readonly doc: string
}

const str = { type: 'string' } as const
const secretOrFile = { type: 'secret', file: true } as const
const port = { type: 'port' } as const
const bool = { type: 'boolean' } as const
const duration = { type: 'duration' } as const
const durationOrNone = { type: 'duration', zero: true } as const
const list = { type: 'list' } as const
const count = (min: number, max: number): { readonly type: 'integer', readonly min: number, readonly max: number } => ({ type: 'integer', min, max })

export const LOG_LEVELS = Object.freeze(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

export const SETTINGS = {
  LISTEN_HOST: { area: 'Listeners', kind: str, default: '0.0.0.0', doc: 'Address of the public listener.' },
  LISTEN_PORT: { area: 'Listeners', kind: port, default: '8081', doc: 'Port of the public listener. Every path on it is behind authentication.' },
  MANAGEMENT_HOST: { area: 'Listeners', kind: str, default: '0.0.0.0', doc: 'Address of the management listener.' },
  MANAGEMENT_PORT: { area: 'Listeners', kind: port, default: '9091', doc: '`GET /healthz` (process alive), `GET /readyz` (credentials loaded, app accepting connections, not shutting down; details as JSON) and `GET /metrics` (Prometheus), without authentication. Not exposed by the Service.' },

  UPSTREAM_URL: { area: 'The app', kind: str, default: 'http://127.0.0.1:8080', doc: 'The app. An origin only (scheme, host, port): paths and queries are forwarded verbatim.' },
  UPSTREAM_CONNECT_TIMEOUT: { area: 'The app', kind: duration, default: '5s', doc: 'Time to connect to the app before answering `504`.' },
  UPSTREAM_TIMEOUT: { area: 'The app', kind: duration, default: '60s', doc: 'Time to wait for the app\'s response headers before `504` (like nginx\'s `proxy_read_timeout`).' },
  UPSTREAM_BODY_TIMEOUT: { area: 'The app', kind: durationOrNone, default: '60s', doc: 'Longest pause between two chunks of a response body before the response is cut (the client sees it broken). `0`: none — for event streams that stay quiet longer.' },
  PUBLIC_PATHS: { area: 'The app', kind: list, doc: 'Comma-separated exact paths served without authentication, optionally for one method: `/healthz,GET /favicon.ico` (`GET` also admits `HEAD`). Matched on the raw path, so encoded, `;`-parameterised or dot-segment variants never match (they must authenticate).' },

  // Slow clients (slowloris) are checked every second (proxy/client-limits.ts). nginx allows 60 s; browsers send at once.
  CLIENT_HEADER_TIMEOUT: { area: 'Clients', kind: duration, default: '10s', doc: 'Time a client has to send its request line and headers; then `408` and the connection is closed (checked every second, so slowloris clients are cut within a second of it).' },
  CLIENT_BODY_TIMEOUT: { area: 'Clients', kind: durationOrNone, default: '30s', doc: 'Longest pause in a request body before `408` (as nginx\'s `client_body_timeout`). `0`: none.' },
  CLIENT_REQUEST_TIMEOUT: { area: 'Clients', kind: durationOrNone, default: '5m', doc: 'Time to receive a whole request, body included (Node\'s own default). Raise it for apps that take single large uploads over slow links; `0`: none.' },
  WEBSOCKET_IDLE_TIMEOUT: { area: 'Clients', kind: durationOrNone, default: '1h', doc: 'A WebSocket tunnel with no byte in either direction this long is ended with a Close frame `1001`. `0`: none.' },

  HTPASSWD_FILE: { area: 'htpasswd and a static user', kind: str, doc: 'htpasswd file: bcrypt (`$2y$`, `$2b$`, `$2a$`), apr1 (`$apr1$`, htpasswd\'s default), `{SHA}` and `{SSHA}`; `#` comments and blank lines allowed. Weak schemes (apr1, `{SHA}`, `{SSHA}`) work but are named in a start-up warning. Re-read when it changes (see [docs/credentials.md](docs/credentials.md)).' },
  // "Within a few seconds" of the kubelet updating the Secret.
  HTPASSWD_RELOAD_INTERVAL: { area: 'htpasswd and a static user', kind: duration, default: '2s', doc: 'How often the htpasswd file is checked for a new version.' },
  HTPASSWD_GROUPS_FILE: { area: 'htpasswd and a static user', kind: str, doc: 'Groups for the users of `HTPASSWD_FILE` and `AUTH_USERNAME`, in Apache\'s `AuthGroupFile` format (`admins: alice bob` per line); sent in `GROUPS_HEADER` and used by `AUTHZ_RULES_FILE`, as LDAP and OpenID Connect groups are. Re-read like the htpasswd file.' },
  AUTH_USERNAME: { area: 'htpasswd and a static user', kind: str, doc: 'A single user, with `AUTH_PASSWORD` or `AUTH_PASSWORD_FILE`. May be combined with `HTPASSWD_FILE`.' },
  AUTH_PASSWORD: { area: 'htpasswd and a static user', kind: secretOrFile, doc: 'That user\'s password, or (`_FILE`, which wins) a file holding it; one trailing newline is ignored.' },

  LDAP_URL: { area: 'LDAP', kind: list, doc: 'Check credentials against an LDAP directory (see [docs/ldap.md](docs/ldap.md)): `ldaps://host[:port]` or `ldap://…`; several (comma/space-separated) fail over in order.' },
  LDAP_STARTTLS: { area: 'LDAP', kind: bool, default: 'false', doc: 'Upgrade `ldap://` connections with StartTLS before anything else is sent. Not with `ldaps://`.' },
  LDAP_CA_FILE: { area: 'LDAP', kind: str, defaultDoc: 'the system\'s CAs', doc: 'PEM CA bundle for the directory\'s certificate. Verification is always on.' },
  LDAP_BIND_DN_TEMPLATE: { area: 'LDAP', kind: str, doc: 'Direct bind: the user\'s DN, `{user}` replaced by the RFC 4514-escaped name, e.g. `uid={user},ou=people,dc=example,dc=org`.' },
  LDAP_SEARCH_BASE: { area: 'LDAP', kind: str, doc: 'Search-then-bind: where the user\'s entry is searched (subtree). Exactly one of this and `LDAP_BIND_DN_TEMPLATE`.' },
  LDAP_SEARCH_FILTER: { area: 'LDAP', kind: str, default: '(uid={user})', doc: 'The search; `{user}` is replaced by the RFC 4515-escaped name. Must match exactly one entry.' },
  LDAP_BIND_DN: { area: 'LDAP', kind: str, defaultDoc: 'anonymous', doc: 'Service account for searches and group lookups, with `LDAP_BIND_PASSWORD`.' },
  LDAP_BIND_PASSWORD: { area: 'LDAP', kind: secretOrFile, doc: 'The service account\'s password, or (`_FILE`, which wins) a file holding it, re-read on every fresh bind so a rotated Secret needs no restart.' },
  LDAP_USER_ATTRIBUTE: { area: 'LDAP', kind: str, default: 'uid', doc: 'Attribute of the entry passed upstream as the user, so the app sees the directory\'s spelling (`ALICE` logs in as `alice`). AD: `sAMAccountName`.' },
  LDAP_GROUP_SEARCH_BASE: { area: 'LDAP', kind: str, defaultDoc: '`LDAP_SEARCH_BASE`', doc: 'Where groups listing the user in `member`/`uniqueMember` are found (plus the user\'s own `memberOf`).' },
  LDAP_REQUIRED_GROUPS: { area: 'LDAP', kind: str, doc: 'Group DNs separated by `;`; only members of at least one get in. Others get the same `401` as a wrong password.' },
  // A login waits for these on a cache miss: long enough for a busy directory, short enough to fail over.
  LDAP_CONNECT_TIMEOUT: { area: 'LDAP', kind: duration, default: '3s', doc: 'Time to connect to a server; then the next is tried.' },
  LDAP_TIMEOUT: { area: 'LDAP', kind: duration, default: '5s', doc: 'Time allowed for each LDAP operation.' },
  LDAP_HEALTH_INTERVAL: { area: 'LDAP', kind: duration, default: '10s', doc: 'How often the directory is checked for `/readyz` (and a server marked down retried).' },

  OIDC_ISSUER_URL: { area: 'OpenID Connect', kind: str, doc: 'OpenID Connect login (see [docs/oidc.md](docs/oidc.md)): the provider\'s issuer, discovered at start-up (`https://`; `http://` only on loopback).' },
  OIDC_CLIENT_ID: { area: 'OpenID Connect', kind: str, doc: 'The client registered at the provider.' },
  OIDC_CLIENT_SECRET: { area: 'OpenID Connect', kind: secretOrFile, doc: 'Its secret, or (`_FILE`, which wins) a file holding it; read at start-up. Omit for a public client.' },
  OIDC_SCOPES: { area: 'OpenID Connect', kind: str, default: 'openid profile email', doc: 'Scopes asked for (space- or comma-separated); must include `openid`.' },
  OIDC_REDIRECT_URL: { area: 'OpenID Connect', kind: str, defaultDoc: 'derived', doc: 'The callback, `https://…/_auth/callback`; by default built from each request (behind `TRUST_PROXY`, from `X-Forwarded-Proto/Host`). Set it behind an untrusted router.' },
  OIDC_POST_LOGOUT_REDIRECT_URL: { area: 'OpenID Connect', kind: str, defaultDoc: 'the site\'s root', doc: 'Where the provider sends the browser after logout.' },
  OIDC_USER_CLAIM: { area: 'OpenID Connect', kind: str, default: 'preferred_username', doc: 'Claim for `USER_HEADER` (falling back to `email`, then `sub`).' },
  OIDC_GROUPS_CLAIM: { area: 'OpenID Connect', kind: str, default: 'groups', doc: 'Claim for `GROUPS_HEADER`.' },
  OIDC_ALLOWED_EMAIL_DOMAINS: { area: 'OpenID Connect', kind: list, doc: 'Comma-separated; only verified addresses in these domains get in (others: `403`).' },
  OIDC_ALLOWED_GROUPS: { area: 'OpenID Connect', kind: list, doc: 'Comma-separated; only members of at least one get in (others: `403`).' },
  OIDC_BEARER_AUDIENCES: { area: 'OpenID Connect', kind: list, doc: 'Audiences accepted in `Authorization: Bearer` JWTs besides the client id.' },
  OIDC_PASS_ACCESS_TOKEN: { area: 'OpenID Connect', kind: bool, default: 'false', doc: 'Send the user\'s access token to the app in `X-Forwarded-Access-Token` (for apps that call APIs as the user).' },
  OIDC_HEALTH_INTERVAL: { area: 'OpenID Connect', kind: duration, default: '30s', doc: 'How often the provider is checked for `/readyz`.' },
  OIDC_TIMEOUT: { area: 'OpenID Connect', kind: duration, default: '10s', doc: 'Time allowed for each call to the provider.' },

  SESSION_SECRET: { area: 'Sessions', kind: secretOrFile, doc: 'Required with OIDC, ≥ 32 characters (`openssl rand -base64 32`), or (`_FILE`, which wins) a file holding it. Every replica must have the same.' },
  SESSION_SECRET_PREVIOUS: { area: 'Sessions', kind: secretOrFile, doc: 'The secret before a rotation (or its `_FILE`): its sessions stay valid; new ones use `SESSION_SECRET`.' },
  // A working day; refresh tokens renew the identity within it, a new login is needed after it.
  SESSION_LIFETIME: { area: 'Sessions', kind: duration, default: '12h', doc: 'Absolute session length; refresh tokens renew the identity within it, a new login after it.' },
  SESSION_COOKIE_NAME: { area: 'Sessions', kind: str, default: '_auth_proxy', doc: 'The session cookie (split into `_auth_proxy_0`, `_1`, … when large).' },
  SESSION_COOKIE_DOMAIN: { area: 'Sessions', kind: str, defaultDoc: 'this host only', doc: 'The session cookie\'s `Domain`, e.g. `example.org`, so one login covers every host below it (forward-auth protecting several hosts, with `AUTH_RETURN_DOMAINS`). Leave unset for a single host: a host-only cookie is the safer one.' },
  SESSION_COOKIE_SECURE: { area: 'Sessions', kind: { type: 'enum', values: ['auto', 'true', 'false'] }, default: 'auto', doc: '`auto`: `Secure` when the browser\'s request was HTTPS; `true` behind an edge Route whose router is not in `TRUST_PROXY`.' },
  AUTH_PATH_PREFIX: { area: 'Sessions', kind: str, default: '/_auth', doc: 'The proxy\'s own endpoints: `login?rd=`, `callback`, `logout`, `userinfo`. Reserved: never forwarded.' },

  AUTH_BACKENDS: { area: 'Authentication', kind: list, defaultDoc: 'every configured one', doc: 'Which credential methods, in which order: `htpasswd`, `static` (`AUTH_USERNAME`), `ldap` check Basic credentials in this order (the first that accepts wins); where `oidc` stands decides whether a bearer token is tried before or after Basic (a session cookie is always tried first). A configured method left out is a configuration error.' },
  AUTH_REALM: { area: 'Authentication', kind: str, default: 'Restricted', doc: 'Realm shown in the browser\'s login prompt.' },
  FORWARD_AUTHORIZATION: { area: 'Authentication', kind: bool, default: 'false', doc: 'Pass the client\'s `Authorization` header on to the app. Off by default so the app never sees the password.' },

  AUTHZ_RULES_FILE: { area: 'Authorization', kind: str, doc: 'Who may do what, per host, path and method: a YAML list of rules, the first match deciding (see [docs/authorization.md](docs/authorization.md)). Unset: everyone who logs in may do everything (`PUBLIC_PATHS` aside). Re-read when it changes; a bad new version is refused, the old rules kept and the error shown in `/readyz`.' },
  AUTHZ_RELOAD_INTERVAL: { area: 'Authorization', kind: duration, default: '2s', doc: 'How often `AUTHZ_RULES_FILE` is checked for a new version.' },

  MODE: { area: 'Forward auth', kind: { type: 'enum', values: ['sidecar', 'forward-auth'] }, default: 'sidecar', doc: '`sidecar`: in front of the app at `UPSTREAM_URL`. `forward-auth`: no app of its own; answers an ingress\'s checks at `AUTH_PATH_PREFIX/check` (nginx `auth_request`, ingress-nginx) and `/forward` (Traefik, Caddy) for the request it describes in `X-Forwarded-*` or `X-Original-*` — believed only from `TRUST_PROXY`, which it then requires (see [docs/forward-auth.md](docs/forward-auth.md)).' },
  AUTH_RETURN_DOMAINS: { area: 'Forward auth', kind: list, doc: 'Hosts a login may return the browser to besides its own: `app.example.org`, or `.example.org` for every subdomain. For one login serving several hosts (with `SESSION_COOKIE_DOMAIN`); any other return URL goes to `/`.' },

  USER_HEADER: { area: 'Identity headers', kind: str, default: 'X-Forwarded-User', doc: 'Header carrying the authenticated user to the app. Any client-sent copy — in any case, with `_` or `.` for `-` — is removed first.' },
  GROUPS_HEADER: { area: 'Identity headers', kind: str, default: 'X-Forwarded-Groups', doc: 'Header carrying the user\'s groups (LDAP, OpenID Connect) to the app: names, comma-separated; names containing `,` are left out. Client copies are removed like `USER_HEADER`\'s.' },
  EMAIL_HEADER: { area: 'Identity headers', kind: str, default: 'X-Forwarded-Email', doc: 'The OpenID Connect user\'s e-mail to the app; client copies removed.' },

  // ~1000 distinct credentials × ~200 bytes: bounded and small; 5 minutes caps how long a credential a backend cannot
  // signal a change for (LDAP) keeps working from cache.
  VERIFY_CACHE_SIZE: { area: 'Throttle and cache', kind: count(0, 1_000_000), default: '1000', doc: 'Successful checks remembered, so bcrypt runs once per credential, not per request. `0` disables.' },
  VERIFY_CACHE_TTL: { area: 'Throttle and cache', kind: duration, default: '5m', doc: 'How long a remembered success is trusted. A reload of the credentials forgets all of them at once.' },
  // 10 wrong passwords a minute per client and user name: a typist's patience; ~14k guesses a day at most. 50 per
  // client whatever the names: a lab behind one NAT rarely fails that often, a sprayer does. 20 per account from
  // everywhere before it is slowed (auth/throttle.ts). 10,000 keys per table: ~1 MB at most, whatever the flood.
  AUTH_FAILURE_LIMIT: { area: 'Throttle and cache', kind: count(0, 1_000_000), default: '10', doc: 'Failed logins (wrong or malformed credentials; a missing header does not count) one client (an IPv6 client: its /64) may make **for one user name** per window before that client gets `429` for that name. `0` disables the throttle.' },
  AUTH_FAILURE_CLIENT_LIMIT: { area: 'Throttle and cache', kind: count(1, 1_000_000), default: '50', doc: 'Failed logins one client may make per window over all user names (spraying) before it gets `429` for any.' },
  AUTH_FAILURE_ACCOUNT_LIMIT: { area: 'Throttle and cache', kind: count(1, 1_000_000), default: '20', doc: 'Failed logins for one user name (as directories compare names: case and spaces folded), from all clients together, before that account is slowed: each further check waits 1 s, doubling up to 30 s, one at a time for clients that failed for it and one for those that did not; the count fades a window after the last failure. A client that logged into the account before is not slowed: its owner is never locked out.' },
  AUTH_FAILURE_WINDOW: { area: 'Throttle and cache', kind: duration, default: '1m', doc: 'The window; a blocked client gets `Retry-After` with the seconds left in it.' },
  AUTH_FAILURE_MAX_CLIENTS: { area: 'Throttle and cache', kind: count(1, 10_000_000), default: '10000', doc: 'Keys tracked at most in each of the three counters (least recently seen forgotten first), so memory stays bounded under a flood of addresses or names.' },

  REDIS_URL: { area: 'Shared state', kind: str, doc: 'Redis or Valkey shared by every replica (`redis://host:6379/0`, `rediss://` for TLS): the failure throttle counts across replicas and restarts, and logouts (also back-channel and "everywhere") end a session on every replica. Unset: each replica keeps its own (see [docs/shared-state.md](docs/shared-state.md)).' },
  REDIS_PASSWORD: { area: 'Shared state', kind: secretOrFile, doc: 'Its password (`AUTH`), or (`_FILE`, which wins) a file holding it; never in the URL.' },
  REDIS_CA_FILE: { area: 'Shared state', kind: str, defaultDoc: 'the system\'s CAs', doc: 'PEM CA bundle for `rediss://`.' },
  REDIS_KEY_PREFIX: { area: 'Shared state', kind: str, default: 'auth-proxy:', doc: 'Prefix of every key and channel, so several deployments can share one Redis.' },
  REDIS_TIMEOUT: { area: 'Shared state', kind: duration, default: '300ms', doc: 'Time allowed for each Redis command; slower or down, each replica decides alone (and says so in `/readyz` and metrics) until Redis answers again.' },

  TRUST_PROXY: { area: 'Behind a router', kind: list, doc: 'Comma-separated addresses/CIDRs (or `loopback`, `linklocal`, `uniquelocal`) of proxies in front, e.g. the OpenShift router. From them `X-Forwarded-For/Proto/Host` are believed (the client is the address they report) and extended; from anyone else they are replaced.' },

  // Long enough for the endpoints controller to take the Pod out of the Service before the listener closes.
  SHUTDOWN_DELAY: { area: 'Shutdown', kind: durationOrNone, default: '5s', doc: 'After `SIGTERM`: readiness turns `503` at once, and the proxy keeps serving this long so the Pod leaves the Service first.' },
  // Inside Kubernetes' default 30 s grace period, with room for the delay above.
  SHUTDOWN_TIMEOUT: { area: 'Shutdown', kind: duration, default: '20s', doc: 'Then new connections are refused and in-flight requests and WebSockets get this long to finish; what is left is closed (WebSockets with a Close frame `1001` where the stream is between frames), exit `0`. Keep delay + timeout under the Pod\'s `terminationGracePeriodSeconds` (30 s).' },

  TLS_CERT_FILE: { area: 'TLS', kind: str, doc: 'Serve HTTPS on the public port (PEM; set both it and `TLS_KEY_FILE`). Re-read when it changes, e.g. OpenShift service-serving certificates (`k8s/openshift-reencrypt`).' },
  TLS_KEY_FILE: { area: 'TLS', kind: str, doc: 'The certificate\'s private key (PEM).' },
  TLS_RELOAD_INTERVAL: { area: 'TLS', kind: duration, default: '10s', doc: 'How often the certificate files are checked.' },

  LOG_LEVEL: { area: 'Logging', kind: { type: 'enum', values: LOG_LEVELS }, default: 'info', doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.' }
} as const satisfies Record<string, Setting>

export type SettingName = keyof typeof SETTINGS

/** The method a setting configures, for "X is set but its method is not configured" (the method's own switch). */
export const METHOD_SWITCHES = Object.freeze({ LDAP: 'LDAP_URL', 'OpenID Connect': 'OIDC_ISSUER_URL' } as const)

/** A setting's NAME_FILE variant, when it has one. */
export function fileVariant (name: SettingName): string | undefined {
  const kind: Kind = SETTINGS[name].kind
  return kind.type === 'secret' && kind.file === true ? `${name}_FILE` : undefined
}

/** The names in an area, in declaration order. */
export function settingsIn (area: Area): SettingName[] {
  return (Object.keys(SETTINGS) as SettingName[]).filter((name) => SETTINGS[name].area === area)
}
