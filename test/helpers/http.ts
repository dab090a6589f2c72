// A tiny HTTP client on node:http, so tests control every header byte (fetch forbids some, e.g. Connection).
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'

export interface SendOptions {
  readonly method?: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer | Readable
  /** Raw [name, value, name, value, …] list, for repeated or oddly-cased header names. */
  readonly rawHeaders?: readonly string[]
  /** Source address, e.g. 127.0.0.2, to act as another client. */
  readonly localAddress?: string
}

export interface Response {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export function basic (user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}

export async function send (url: string, options: SendOptions = {}): Promise<Response> {
  return await new Promise((resolve, reject) => {
    const headers = options.rawHeaders !== undefined ? [...options.rawHeaders] : options.headers
    // Split by hand: new URL() would normalise the path (dot-segments, %2e%2e), hiding what the proxy gets.
    const match = /^http:\/\/([^/:]+):(\d+)(\/.*)?$/.exec(url)
    if (match === null) throw new Error(`send() takes http://host:port/path, got ${url}`)
    const target = { hostname: match[1], port: Number(match[2]), path: match[3] ?? '/' }
    const local = options.localAddress !== undefined ? { localAddress: options.localAddress } : {}
    const req = httpRequest({ ...target, ...local, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    const body = options.body
    if (body === undefined) req.end()
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
    else body.pipe(req)
  })
}
