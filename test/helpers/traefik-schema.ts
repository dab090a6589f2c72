// Field lists of Traefik's Middleware CRD (traefik.io/v1alpha1), from Traefik's CRD reference, in the form the
// strict validator uses (k8s-schema.ts). Only ForwardAuth is described field by field; every other middleware
// kind is named (so a typo in a kind fails) and left unchecked.
import type { Attribute } from './k8s-schema.ts'

const a = (spec: Record<string, string>): Attribute[] => Object.entries(spec).map(([baseName, type]) => ({ baseName, type }))
const KINDS = ['addPrefix', 'basicAuth', 'buffering', 'chain', 'circuitBreaker', 'compress', 'contentType', 'digestAuth', 'errors',
  'headers', 'inFlightReq', 'ipAllowList', 'ipWhiteList', 'passTLSClientCert', 'plugin', 'rateLimit', 'redirectRegex', 'redirectScheme',
  'replacePath', 'replacePathRegex', 'retry', 'stripPrefix', 'stripPrefixRegex', 'grpcWeb']

export const TRAEFIK_TYPES: Record<string, Attribute[]> = {
  Middleware: a({ apiVersion: 'string', kind: 'string', metadata: 'V1ObjectMeta', spec: 'MiddlewareSpec' }),
  MiddlewareSpec: a({ forwardAuth: 'ForwardAuth', ...Object.fromEntries(KINDS.map((k) => [k, 'any'])) }),
  ForwardAuth: a({
    address: 'string', tls: 'any', trustForwardHeader: 'boolean', authResponseHeaders: 'Array<string>', authResponseHeadersRegex: 'string',
    authRequestHeaders: 'Array<string>', addAuthCookiesToResponse: 'Array<string>', headerField: 'string', forwardBody: 'boolean',
    maxBodySize: 'number', preserveLocationHeader: 'boolean', preserveRequestMethod: 'boolean'
  })
}
