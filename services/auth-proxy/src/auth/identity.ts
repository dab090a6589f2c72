// Who a request is from, once a credential method has accepted it: what travels to the app (proxy/headers.ts).

/** Who the request is from. Passed upstream in USER_HEADER, GROUPS_HEADER, EMAIL_HEADER. */
export interface Identity {
  readonly user: string
  /** The method or password verifier that accepted the credentials (htpasswd, ldap, oidc…), for logs and metrics. */
  readonly backend: string
  readonly groups?: readonly string[]
  /** OpenID Connect: the verified e-mail address. */
  readonly email?: string
  /** OpenID Connect with OIDC_PASS_ACCESS_TOKEN: the access token, for apps that call APIs as the user. */
  readonly accessToken?: string
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\x00-\x1f\x7f]/

/**
 * Whether the identity can be passed to the app as it is. A user name or e-mail with a control character (CR, LF,
 * NUL…) cannot be a header value — from an OpenID provider or a directory it is input like any other (Envoy
 * CVE-2023-27493) — so such a login is refused rather than forwarded altered. Non-ASCII is fine (headers.ts).
 */
export function isForwardable (identity: Identity): boolean {
  return !CONTROL_RE.test(identity.user) && identity.user !== '' && (identity.email === undefined || !CONTROL_RE.test(identity.email))
}
