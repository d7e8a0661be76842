import type http from 'node:http'
import type { Socket } from 'node:net'
import type express from 'express'
import type { Logger } from 'pino'

/** The methods the app answers. Forms post; everything else is a GET (or its HEAD). */
export const ALLOWED_METHODS = ['GET', 'HEAD', 'POST'] as const

/**
 * Refuses, before the page cache, Express and Remix see it, a request no browser sends: an
 * unsupported method (TRACE, PUT, PROPFIND: Remix would answer 500 for some), a path whose `%`
 * escapes do not decode (Express would print its URIError's stack outside the logger), or a NUL
 * byte in the path or the query (PostgreSQL refuses NUL in text, which became a 500 and an error
 * log on any page that looks a path segment or a search up). Returns true when it answered.
 */
export function refuseMalformedRequest(request: http.IncomingMessage, response: http.ServerResponse): boolean {
  const method = request.method ?? ''
  if (!(ALLOWED_METHODS as readonly string[]).includes(method)) {
    answer(request, response, 405, 'Method not allowed', { Allow: ALLOWED_METHODS.join(', ') })
    return true
  }
  const url = request.url ?? '/'
  const queryAt = url.indexOf('?')
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  const query = queryAt === -1 ? '' : url.slice(queryAt + 1)
  let decodedPath: string
  try {
    decodedPath = decodeURIComponent(path)
  } catch {
    answer(request, response, 400, 'Malformed address')
    return true
  }
  // A query's malformed escapes are kept as written by URLSearchParams, so only NUL matters there.
  if (decodedPath.includes('\0') || /%00/i.test(query) || query.includes('\0')) {
    answer(request, response, 400, 'Malformed address')
    return true
  }
  return false
}

/** Headers by which a proxy tells us the origin the client asked for. */
const FORWARDING_HEADERS = ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded'] as const

/**
 * With no proxy in front (TRUST_PROXY_HOPS=0), whatever X-Forwarded-Host, -Proto, -Port or
 * Forwarded a request carries came from the client itself: they are dropped before anything reads
 * them. (Remix's Express adapter takes the port from X-Forwarded-Host whatever Express trusts.)
 */
export function dropUntrustedForwarding(request: http.IncomingMessage, trustedHops: number): void {
  if (trustedHops > 0) return
  for (const name of FORWARDING_HEADERS) delete request.headers[name]
}

/** The largest body a request to `path` may send, in bytes (Content-Length). */
export type BodyLimits = { forms: number; photoForms: number; webhooks: number }

/**
 * Staff appeal and event forms carry a photo (5 MB at most) beside the story or the event's
 * details; webhooks a provider's event.
 */
const PHOTO_FORM_PATH = /^\/staff\/(?:appeals\/(?:new|[^/]+)|events\/(?:new|[^/]+\/edit))\/?$/
const WEBHOOK_PATH = /^\/webhooks\//

export function bodyLimitFor(path: string, limits: BodyLimits): number {
  if (PHOTO_FORM_PATH.test(path)) return limits.photoForms
  if (WEBHOOK_PATH.test(path)) return limits.webhooks
  return limits.forms
}

/**
 * Refuses a POST whose body is larger than its route needs (413), or that does not say how large
 * it is (411: every browser form and every webhook sends Content-Length), and any other request
 * that carries a body at all (400), before a byte of it is kept: a handful of clients sending
 * huge or endless bodies must not hold memory, parsers or the server's reading.
 * Node reads no more than the declared length as this request's body, and what is read while the
 * connection lingers (`refuseBody`) is dropped as it arrives. Returns true when it answered.
 */
export function refuseOversizedBody(request: http.IncomingMessage, response: http.ServerResponse, limits: BodyLimits): boolean {
  if (request.method !== 'POST') {
    // Left alone, Node would read (and drop) a GET's body to the end to keep the connection.
    if (!declaresBody(request)) return false
    refuseBody(request, response, 400, `A ${request.method} request carries no body`)
    return true
  }
  const declared = request.headers['content-length']
  if (declared === undefined) {
    refuseBody(request, response, 411, 'Send the length of the body (Content-Length)')
    return true
  }
  const url = request.url ?? '/'
  const queryAt = url.indexOf('?')
  const limit = bodyLimitFor(queryAt === -1 ? url : url.slice(0, queryAt), limits)
  if (Number(declared) > limit) {
    const size = limit >= 1024 * 1024 ? `${Math.round(limit / (1024 * 1024))} MB` : `${Math.round(limit / 1024)} KB`
    refuseBody(request, response, 413, `This form is larger than ${size}, the most it may send. Go back and shorten it${PHOTO_FORM_PATH.test(url) ? ', or choose a smaller photo' : ''}.`)
    return true
  }
  return false
}

/**
 * How long, and how much of a refused body, the server goes on reading after its answer before it
 * closes the connection (a "lingering close", as Apache and nginx do). Closing a socket while the
 * client is still sending makes the kernel answer with a reset, and a client that is busy writing
 * learns of the reset before it reads the 413 already waiting for it: about 70% of refused clients
 * saw only "connection reset". Reading on for a moment lets the client read the answer and close
 * first. The bounds stop a client that never reads from holding the connection or our CPU (about
 * 1 ms of it per MB read): 2 s is Apache's figure, plenty for a browser across the world to see
 * the answer; 4 MB is far more than an uploader behind a network sends in the time its answer
 * takes to reach it, and in the benchmark 1 MB left most loopback clients reset while 8 MB did no
 * better than 4 (docs/benchmarks.md). The bytes are dropped as they arrive, never kept.
 */
export const LINGER_MS = 2000
export const LINGER_MAX_BYTES = 4 * 1024 * 1024

/**
 * Answers `status` at once, whole (its length declared, so the client knows it has all of it),
 * then reads and drops the body until the client has sent it all or closed, or the bounds above
 * are reached; only then ends the response, which closes the connection (`Connection: close`).
 */
function refuseBody(request: http.IncomingMessage, response: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  const body = Buffer.from(text)
  response.writeHead(status, { ...headers, ...REFUSAL_HEADERS, Connection: 'close', 'Content-Length': String(body.length) })
  response.write(body)
  // A HEAD's answer has no body to write, so its head would wait for the end of the lingering.
  if (request.method === 'HEAD') response.flushHeaders()
  const chunked = request.headers['transfer-encoding'] !== undefined
  const declared = chunked ? Number.POSITIVE_INFINITY : Number(request.headers['content-length'] ?? 0)
  // The last few bytes read, to see a chunked body's last chunk even when it spans two reads.
  let tail = ''
  let discarded = 0
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    clearTimeout(timer)
    request.removeListener('data', discardChunk)
    response.end()
  }
  const discard = (bytes: number, read?: Buffer) => {
    discarded += bytes
    if (chunked && read) {
      tail = (tail + read.toString('latin1', Math.max(0, bytes - LAST_CHUNK.length), bytes)).slice(-LAST_CHUNK.length)
      if (tail.endsWith(LAST_CHUNK)) close()
    }
    if (discarded >= LINGER_MAX_BYTES || discarded >= declared) close()
    return !closed
  }
  const discardChunk = (chunk: Buffer) => void discard(chunk.length)
  const timer = setTimeout(close, LINGER_MS)
  // What Node's parser has read already, with the head, arrives as the request's data.
  request.on('data', discardChunk)
  request.once('end', close)
  // The client read the answer and went: nothing is left to wait for.
  response.once('close', () => {
    closed = true
    clearTimeout(timer)
  })
  // Once the handler has returned (the parser is not running), the rest goes straight from the
  // socket into one shared buffer; if that is not possible it keeps coming as the request's data.
  process.nextTick(() => {
    if (!closed) readIntoDiscardBuffer(request.socket, discard)
  })
}

/**
 * The bytes of refused bodies are read into this one buffer and forgotten. Read as the request's
 * data, each piece was a new copy made by Node's HTTP parser, and V8 freed those only after tens of
 * megabytes had piled up: a flood of refused uploads grew the server by 40 MB of them alone
 * (docs/benchmarks.md).
 */
const DISCARD_BUFFER = Buffer.allocUnsafe(64 * 1024)

/**
 * How a chunked body ends: the last chunk (size 0) after the previous chunk's line end, then the
 * empty line (trailers, which no uploader sends, are not looked for: such a body waits out its 2 s).
 * Seen in the bytes dropped unparsed, it closes the connection as the request's end did when the
 * parser read them.
 */
const LAST_CHUNK = '\r\n0\r\n\r\n'

/**
 * Points a socket's reading at DISCARD_BUFFER, by the hook Node gives a client socket for this
 * (net.Socket's `onread` option, its buffer and callback kept under the symbols named here), and
 * takes it from the HTTP parser (which Node's server does itself when anyone listens for the
 * socket's data). `onBytes` is told how many bytes came each time; reading stops when it returns
 * false, and the end or a reset closes the socket as always. Returns false (and does nothing) when
 * this Node does not have the hook: the body then keeps coming as the request's data.
 */
function readIntoDiscardBuffer(socket: Socket, onBytes: (bytes: number, read: Buffer) => boolean): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null })._handle
  const symbols = Object.getOwnPropertySymbols(socket)
  const bufferKey = symbols.find((symbol) => symbol.description === 'kBuffer')
  const callbackKey = symbols.find((symbol) => symbol.description === 'kBufferCb')
  if (socket.destroyed || !bufferKey || !callbackKey || typeof handle?.useUserBuffer !== 'function') return false
  const hooks = socket as unknown as Record<symbol, unknown>
  hooks[bufferKey] = DISCARD_BUFFER
  hooks[callbackKey] = (bytes: number) => onBytes(bytes, DISCARD_BUFFER)
  socket.on('data', ignore)
  handle.useUserBuffer(DISCARD_BUFFER)
  return true
}

function ignore() {}

const REFUSAL_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }

/** Whether the request says a body follows (a length above 0, or chunks). */
function declaresBody(request: http.IncomingMessage) {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0
}

/** A refusal that keeps the connection, unless a body follows: then it is refused as above. */
function answer(request: http.IncomingMessage, response: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  if (declaresBody(request)) return refuseBody(request, response, status, text, headers)
  response.writeHead(status, { ...headers, ...REFUSAL_HEADERS })
  response.end(text)
}

/**
 * Express's last error handler: its default one prints the stack to stderr, outside pino and its
 * redaction (and a stack can carry a query's values). Errors go to the logger instead; a client's
 * mistake (4xx, such as a malformed escape in a route parameter) answers its status, anything else 500.
 */
export function createErrorHandler(logger: Logger): express.ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const declared = typeof error === 'object' && error !== null ? (error as { status?: unknown; statusCode?: unknown }) : {}
    const candidate = Number(declared.status ?? declared.statusCode)
    const status = Number.isInteger(candidate) && candidate >= 400 && candidate < 600 ? candidate : 500
    const path = request.originalUrl.split('?')[0]
    if (status >= 500) logger.error({ err: error, method: request.method, path }, 'Request failed')
    else logger.warn({ method: request.method, path, status, type: (error as Error | undefined)?.name }, 'Request refused')
    if (response.headersSent) {
      // Part of the answer is gone; the client must not take the rest for a whole one.
      request.socket.destroy()
      return
    }
    response.status(status).set('Cache-Control', 'no-store').type('text/plain').send(status >= 500 ? 'Something went wrong' : 'Bad request')
  }
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void

/**
 * Handles one request at a time on each connection. A client may send many requests in one go
 * without waiting for answers (HTTP/1.1 pipelining; no browser or load balancer does), and Node
 * starts every one of them at once, keeping each answer until the client reads the ones before:
 * 300 connections each sending 60 page requests and reading nothing grew the server by more than a
 * gigabyte in 10 s and held the database pool from everyone else (docs/decisions/032). Here the next request on a connection starts only
 * once the answer before it has been handed to the operating system (or the connection is gone),
 * so a client that does not read holds one answer, not sixty. Answers still go out in order.
 */
export function oneRequestAtATime(handle: Handler): Handler {
  const waiting = new WeakMap<Socket, Array<() => void>>()
  return (request, response) => {
    const socket = request.socket
    const queue = waiting.get(socket)
    const run = () => {
      let done = false
      const next = () => {
        if (done) return
        done = true
        const following = waiting.get(socket)?.shift()
        if (!following) waiting.delete(socket)
        // A connection that has gone takes its unstarted requests with it.
        else if (socket.destroyed) waiting.delete(socket)
        else following()
      }
      response.once('finish', next)
      response.once('close', next)
      handle(request, response)
    }
    if (queue) queue.push(run)
    else {
      waiting.set(socket, [])
      run()
    }
  }
}
