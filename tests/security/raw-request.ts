import http from 'node:http'
import { inject } from 'vitest'

export type RawResponse = { status: number; headers: http.IncomingHttpHeaders; body: string }

/**
 * One request exactly as written (node:http sends the path and headers untouched; fetch would
 * normalise the path and refuses to set Host). `proxied` adds what the load balancer in front
 * would: the public Host, X-Forwarded-Proto https and the client's address.
 */
export function raw(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; proxied?: boolean; server?: URL } = {},
): Promise<RawResponse> {
  const server = options.server ?? new URL(inject('baseUrl'))
  const site = new URL(inject('siteUrl'))
  const headers: Record<string, string> = {
    ...(options.proxied === false ? {} : { host: site.host, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }),
    ...options.headers,
  }
  if (options.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(options.body))
  return new Promise((resolve, reject) => {
    const request = http.request({ host: server.hostname, port: server.port, method, path, headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', reject)
    request.end(options.body)
  })
}

/** The value of every `<meta property=… content=…>` whose property matches. */
export function metaContent(html: string, property: string): string | undefined {
  const tag = new RegExp(`<meta[^>]*(?:property|name)="${property}"[^>]*>`).exec(html)?.[0]
  return tag ? /content="([^"]*)"/.exec(tag)?.[1]?.replaceAll('&amp;', '&') : undefined
}

/** Every absolute http(s) address in a page (up to its query), those inside share links' queries too. */
export function absoluteAddresses(html: string): string[] {
  const decoded = html.replaceAll('&amp;', '&').replace(/%[0-9A-F]{2}/gi, (escape) => {
    try {
      return decodeURIComponent(escape)
    } catch {
      return escape
    }
  })
  return [...new Set(decoded.match(/https?:\/\/[^\s"'<>&)?=]+/g) ?? [])]
}
