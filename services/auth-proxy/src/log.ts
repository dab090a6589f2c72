// Logger options shared by both listeners. Secrets never reach the log: request objects are serialised
// to an allow-list of fields (no headers at all), and the usual secret-bearing paths are redacted as a
// second line of defence for anything logged by hand.
import type { FastifyLoggerOptions, FastifyRequest } from 'fastify'
import type { LoggerOptions } from 'pino'
import { pathOf } from './util/url.ts'

export const REDACT_PATHS = Object.freeze([
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'password'
])

/**
 * Where the proxy's parts report what operators need to know (a reload, a directory going down), apart from the
 * request log. Never secrets. Fastify's logger is one.
 */
export interface OperatorLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}


export function loggerOptions (level: string): FastifyLoggerOptions & LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, path: pathOf(req.url), remoteAddress: req.clientAddress }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
    }
  }
}
