import { randomUUID } from 'node:crypto'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { gzip } from 'node:zlib'
import type { NextFunction, Request, Response } from 'express'
import { createNonce, setNonce } from './security-headers.server.ts'
import { singleton } from './singleton.server.ts'

/**
 * A short-lived cache of public appeal pages as rendered HTML (docs/decisions/010-public-page-cache.md).
 * An appeal shared widely is read far more often than it changes, and rendering it costs about
 * ten milliseconds of CPU; a cached copy costs a string replacement.
 *
 * Only anonymous requests are served from it: a GET of `/appeals/:slug` with no query string, no
 * Cookie header and the site's own Host, so nothing personal or forged can be stored and shown to
 * someone else. Each page view
 * still gets its own donation submission id and its own script nonce: the page is rendered with
 * random placeholders for both, which every copy served replaces with fresh values (in the
 * Content-Security-Policy header too). A copy is used for `PAGE_CACHE_SECONDS`; after
 * that, one request renders it again while the others get the previous copy. A Stripe event
 * applied in this process empties the cache at once, so a donor sees their gift on their return.
 */

const CACHEABLE_PATH = /^\/appeals\/[a-z0-9-]{1,100}\/?$/
/** The loader's submission id for the page being rendered into the cache (never from a client). */
export const SUBMISSION_ID_HEADER = 'x-sanad-submission-id'
/** Stricter than isUuid (utils/ids.ts) on purpose: only the version-4 ids our forms render. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const MAX_ENTRIES = 500

type Slot = 'submission-id' | 'nonce'

type Entry = {
  /** The page cut where the placeholders were: `slots[i]` goes between `parts[i]` and `parts[i + 1]`. */
  parts: Buffer[]
  slots: Slot[]
  /** Every header the render sent, except the Content-Security-Policy, which needs the nonce. */
  headers: Record<string, string>
  /** The Content-Security-Policy cut where the placeholder nonce was. */
  policyParts: string[]
  storedAt: number
  refreshing: boolean
}

/** Headers that belong to one transfer of the body, not to the page. */
const TRANSFER_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'vary', 'date', 'connection', 'keep-alive', 'etag'])

/**
 * One cache per process: this module is loaded twice, by the HTTP server (which serves from the
 * cache) and inside the Remix build (whose webhook code empties it). `generation` moves on at
 * every invalidation, so a render begun before one is not kept after it.
 */
const cache = singleton('public-page-cache', () => ({ entries: new Map<string, Entry>(), generation: 0 }))
const entries = cache.entries

/** Forgets every cached page (a gift, a refund or an edit changed what they show). */
export function invalidatePublicPages() {
  cache.generation += 1
  entries.clear()
}

/** The submission id for a page view: the cache's placeholder when it is filling, else a new one. */
export function submissionIdFor(request: globalThis.Request): string {
  const given = request.headers.get(SUBMISSION_ID_HEADER)
  return given && UUID.test(given) ? given : randomUUID()
}

export type PublicPageCache = {
  /**
   * Serves a fresh cached page straight from Node's HTTP server, before Express: true when it
   * answered. Gzips it for clients that ask, as the compression middleware would.
   */
  serve(request: IncomingMessage, response: ServerResponse, log: (status: number, started: bigint) => void): boolean
  /** Express middleware for the requests `serve` left: renders a missing or stale page into the cache. */
  fill(request: Request, response: Response, next: NextFunction): void
}

/**
 * `origin` is the site's own (from APP_URL). Pages build their absolute addresses from APP_URL,
 * never from the request (utils/absolute-url.server.ts); on top of that, a request is shared only
 * when every header that names an origin (Host, X-Forwarded-Host, X-Forwarded-Proto) names ours,
 * so a page rendered for a forged one is neither stored nor served (docs/decisions/022).
 */
export function createPublicPageCache(options: { seconds: number; origin: string }): PublicPageCache {
  const ttlMs = options.seconds * 1000
  const site = new URL(options.origin)
  const cacheable = (request: IncomingMessage) =>
    ttlMs > 0 &&
    request.method === 'GET' &&
    claimsOrigin(request, site) &&
    !request.headers.cookie &&
    CACHEABLE_PATH.test(request.url ?? '')
  const keyOf = (request: IncomingMessage) => (request.url ?? '').replace(/\/$/, '')
  const usable = (entry: Entry) => Date.now() - entry.storedAt < ttlMs || entry.refreshing

  return {
    serve(request, response, log) {
      // Whatever a client sent under our internal header is dropped, cacheable or not.
      delete request.headers[SUBMISSION_ID_HEADER]
      if (!cacheable(request)) return false
      const entry = entries.get(keyOf(request))
      if (!entry || !usable(entry)) return false
      const started = process.hrtime.bigint()
      // Not Express's `send`: it would hash every body for an ETag, and no two copies are the same.
      const nonce = createNonce()
      const body = withFreshValues(entry, nonce)
      const headers: OutgoingHttpHeaders = {
        ...entry.headers,
        'Content-Security-Policy': entry.policyParts.join(nonce),
        Vary: 'Accept-Encoding',
        'X-Page-Cache': 'hit',
      }
      if (!acceptsGzip(request.headers['accept-encoding'])) {
        response.writeHead(200, { ...headers, 'Content-Length': body.length })
        response.end(body)
        log(200, started)
        return true
      }
      gzip(body, (error, compressed) => {
        if (error) {
          response.writeHead(200, { ...headers, 'Content-Length': body.length })
          response.end(body)
        } else {
          response.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': compressed.length })
          response.end(compressed)
        }
        log(200, started)
      })
      return true
    },
    fill(request, response, next) {
      if (!cacheable(request)) return next()
      const key = keyOf(request)
      const previous = entries.get(key)
      // A stale copy: the others are served it while this request renders the page again.
      if (previous && !usable(previous)) previous.refreshing = true
      capture(key, request, response, previous)
      next()
    },
  }
}

/**
 * True when the request names no origin but ours: its Host (or the X-Forwarded-Host a load balancer
 * set) is APP_URL's host, and any X-Forwarded-Host or X-Forwarded-Proto agrees with APP_URL.
 */
export function claimsOrigin(request: Pick<IncomingMessage, 'headers'>, site: URL): boolean {
  const header = (name: string) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value.join(',') : value
  }
  const host = header('host')
  const forwardedHost = header('x-forwarded-host')
  const forwardedProto = header('x-forwarded-proto')
  if (forwardedHost !== undefined && forwardedHost !== site.host) return false
  if (forwardedProto !== undefined && forwardedProto !== site.protocol.slice(0, -1)) return false
  return host === site.host || forwardedHost === site.host
}

/** Whether an Accept-Encoding header allows gzip (listed, or `*`, with a weight above zero). */
function acceptsGzip(header: string | string[] | undefined) {
  if (!header) return false
  for (const item of String(header).split(',')) {
    const [coding, ...parameters] = item.trim().toLowerCase().split(';')
    if (coding !== 'gzip' && coding !== '*') continue
    const weight = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith('q='))
    if (!weight || Number(weight.slice(2)) > 0) return true
  }
  return false
}

function withFreshValues(entry: Entry, nonce: string): Buffer {
  if (entry.parts.length === 1) return entry.parts[0]!
  const values: Record<Slot, Buffer> = { 'submission-id': Buffer.from(randomUUID()), nonce: Buffer.from(nonce) }
  const pieces: Buffer[] = [entry.parts[0]!]
  for (let index = 1; index < entry.parts.length; index += 1) pieces.push(values[entry.slots[index - 1]!], entry.parts[index]!)
  return Buffer.concat(pieces)
}

/** Cuts `text` at every occurrence of the placeholders, noting which one each cut held. */
function cutAtPlaceholders(text: string, placeholders: Record<Slot, string>) {
  const slotOf = new Map(Object.entries(placeholders).map(([slot, value]) => [value, slot as Slot]))
  const pieces = text.split(new RegExp(`(${Object.values(placeholders).join('|')})`))
  const parts: Buffer[] = []
  const slots: Slot[] = []
  pieces.forEach((piece, index) => (index % 2 === 0 ? parts.push(Buffer.from(piece)) : slots.push(slotOf.get(piece)!)))
  return { parts, slots }
}

/** Lets this request render the page, and keeps a copy of what it sends if it can be shared. */
function capture(key: string, request: Request, response: Response, previous: Entry | undefined) {
  const placeholders: Record<Slot, string> = { 'submission-id': randomUUID(), nonce: createNonce() }
  const startedIn = cache.generation
  request.headers[SUBMISSION_ID_HEADER] = placeholders['submission-id']
  setNonce(response, placeholders.nonce)
  const chunks: Buffer[] = []
  const write = response.write.bind(response) as (...args: unknown[]) => boolean
  const end = response.end.bind(response) as (...args: unknown[]) => Response
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'))
  }
  response.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0])
    return write(chunk, ...rest)
  }) as Response['write']
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0])
    return end(chunk, ...rest)
  }) as Response['end']
  response.once('finish', () => {
    const contentType = String(response.getHeader('content-type') ?? '')
    const shareable =
      startedIn === cache.generation &&
      response.statusCode === 200 &&
      contentType.startsWith('text/html') &&
      response.getHeader('set-cookie') === undefined &&
      !/no-store|private/.test(String(response.getHeader('cache-control') ?? ''))
    if (!shareable) {
      if (previous) previous.refreshing = false
      return
    }
    if (!entries.has(key) && entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(response.getHeaders())) {
      if (value === undefined || TRANSFER_HEADERS.has(name) || name === 'content-security-policy') continue
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value)
    }
    const policyParts = String(response.getHeader('content-security-policy') ?? '').split(placeholders.nonce)
    const { parts, slots } = cutAtPlaceholders(Buffer.concat(chunks).toString('utf8'), placeholders)
    entries.set(key, { parts, slots, headers, policyParts, storedAt: Date.now(), refreshing: false })
  })
  response.once('close', () => {
    if (!response.writableFinished && previous) previous.refreshing = false
  })
}
