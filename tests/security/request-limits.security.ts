import http from 'node:http'
import net from 'node:net'
import { expect, inject, test } from 'vitest'
import { sendBody, statusLineOf } from './body-sender.ts'
import { raw } from './raw-request.ts'

/**
 * What anyone can send and no browser does: bodies larger than a form needs, bodies that never say
 * how long they are, and headers far past any real browser's. Each is refused early with a status a
 * client can act on, and the server goes on answering.
 */

const SITE = inject('siteUrl')
const APPEAL = 'walk-again-yusuf'

/** Sends only the request's head (and `firstBytes` of a body), and resolves with the answer's status. */
function headOnly(headers: Record<string, string>, firstBytes = '') {
  const server = new URL(inject('baseUrl'))
  return new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const request = http.request(
      {
        host: server.hostname,
        port: server.port,
        method: 'POST',
        path: `/appeals/${APPEAL}`,
        headers: { host: new URL(SITE).host, origin: SITE, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (response) => {
        response.resume()
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection })
        request.destroy()
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)))
    request.flushHeaders()
    if (firstBytes) request.write(firstBytes)
  })
}

test('a form body declared at 200 MB is refused with 413 before it is sent', async () => {
  const answer = await headOnly({ 'content-length': String(200 * 1024 * 1024) }, 'amount=1000&')
  expect(answer.status).toBe(413)
  expect(answer.connection).toBe('close')
})

const BODY_MB = 200
const PIECE = Buffer.alloc(64 * 1024, 'a')
const CHUNK = Buffer.concat([Buffer.from(`${PIECE.length.toString(16)}\r\n`), PIECE, Buffer.from('\r\n')])

/**
 * A client that goes on sending a declared 200 MB body (at most `maxBytes` of it) and reads
 * whatever comes back meanwhile, between megabytes, as a browser or curl uploading does; with
 * `untilAnswered` it stops once the answer has come, as they do.
 */
function uploadTo(path: string, options: { framing?: 'length' | 'chunked'; method?: string; untilAnswered?: boolean; maxBytes?: number } = {}) {
  const server = new URL(inject('baseUrl'))
  const chunked = options.framing === 'chunked'
  const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${BODY_MB * 1024 * 1024}`
  return sendBody({
    port: Number(server.port),
    host: server.hostname,
    head: `${options.method ?? 'POST'} ${path} HTTP/1.1\r\nHost: ${new URL(SITE).host}\r\nOrigin: ${SITE}\r\nContent-Type: application/x-www-form-urlencoded\r\n${length}\r\n\r\n`,
    piece: chunked ? CHUNK : PIECE,
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    untilAnswered: options.untilAnswered ?? true,
    timeoutMs: 15_000,
    yieldEveryBytes: 1024 * 1024,
  })
}

/** The status line a client still sending its body reads: '' when the connection was reset first. */
async function keepSending(path: string, framing: 'length' | 'chunked', method = 'POST') {
  return statusLineOf((await uploadTo(path, { framing, method })).answer)
}

test('a client still sending its oversized body reads the 413 (the server lingers before it closes), every time', async () => {
  const answers: string[] = []
  for (let attempt = 0; attempt < 10; attempt += 1) answers.push(await keepSending(`/appeals/${APPEAL}`, 'length'))
  expect(answers).toEqual(Array.from({ length: 10 }, () => expect.stringMatching(/^HTTP\/1\.1 413 /)))
  expect((await raw('GET', '/healthz')).status).toBe(200)
})

test('a client still sending a chunked body reads the 411, every time', async () => {
  const answers: string[] = []
  for (let attempt = 0; attempt < 10; attempt += 1) answers.push(await keepSending('/events/save', 'chunked'))
  expect(answers).toEqual(Array.from({ length: 10 }, () => expect.stringMatching(/^HTTP\/1\.1 411 /)))
})

test('the lingering is bounded: a client that never stops sending is cut off after 4 MB or 2 s, not read to its end', async () => {
  // Reads the answer but goes on sending regardless, as a careless or hostile client would.
  const outcome = await uploadTo(`/appeals/${APPEAL}`, { untilAnswered: false, maxBytes: BODY_MB * 1024 * 1024 })
  expect(statusLineOf(outcome.answer)).toMatch(/^HTTP\/1\.1 413 /)
  expect(outcome.seconds).toBeLessThan(5)
  // 4 MB read, and what the two kernels' buffers held besides: far from the 200 MB declared.
  expect(outcome.sent).toBeLessThan(24 * 1024 * 1024)
})

test('a body on a request that takes none (a GET, a PUT) is refused and not read to its end, however long it says it is', async () => {
  // Before, the GET was answered 200 and Node then read all of its body to keep the connection.
  expect(await keepSending('/healthz', 'length', 'GET')).toMatch(/^HTTP\/1\.1 400 /)
  expect(await keepSending('/healthz', 'chunked', 'GET')).toMatch(/^HTTP\/1\.1 400 /)
  expect(await keepSending(`/appeals/${APPEAL}`, 'length', 'PUT')).toMatch(/^HTTP\/1\.1 405 /)
  const plain = await raw('GET', '/healthz', { headers: { 'content-length': '0' } })
  expect(plain.status).toBe(200)
})

test('a client that asks before sending (Expect: 100-continue) is refused without being told to go on', async () => {
  const server = new URL(inject('baseUrl'))
  const answer = await new Promise<string>((resolve) => {
    const socket = net.connect(Number(server.port), server.hostname)
    let received = ''
    socket.on('data', (data) => {
      received += data.toString('latin1')
      // A final answer (not 100) has begun: what came before it is what counts.
      if (/HTTP\/1\.1 [2-5]\d\d /.test(received)) socket.destroy()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => resolve(received))
    setTimeout(() => socket.destroy(), 5000).unref()
    socket.write(
      `POST /appeals/${APPEAL} HTTP/1.1\r\nHost: ${new URL(SITE).host}\r\nOrigin: ${SITE}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${200 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
    )
  })
  expect(answer).toMatch(/^HTTP\/1\.1 413 /)
  expect(answer).not.toContain('100 Continue')
})

test('a chunked form body (no length) is refused with 411 before it is read', async () => {
  const answer = await headOnly({ 'transfer-encoding': 'chunked' }, 'c\r\namount=1000&\r\n')
  expect(answer.status).toBe(411)
})

test('a body longer than its declared length is not read past it', async () => {
  const answer = await raw('POST', `/appeals/${APPEAL}`, {
    headers: { origin: SITE, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' },
    body: `name=${'x'.repeat(100_000)}`,
  }).catch(() => ({ status: 0 }))
  // Node reads 5 bytes as the body (400: not a whole form); the rest is a malformed next request.
  expect([400, 0]).toContain(answer.status)
  expect((await raw('GET', '/healthz')).status).toBe(200)
})

/** Writes `head` on a bare socket and returns the status line of whatever comes back before it closes. */
function statusLineFor(head: string) {
  const server = new URL(inject('baseUrl'))
  return new Promise<string>((resolve) => {
    const socket = net.connect(Number(server.port), server.hostname)
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
    socket.on('error', () => undefined)
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''))
    socket.write(head, () => socket.end())
  })
}

test('headers of 64 KB are refused with 431 and the server keeps answering', async () => {
  const status = await statusLineFor(`GET /appeals/${APPEAL} HTTP/1.1\r\nHost: ${new URL(SITE).host}\r\nCookie: a=${'x'.repeat(64 * 1024)}\r\n\r\n`)
  expect(status).toMatch(/^HTTP\/1\.1 431 /)
  expect((await raw('GET', '/healthz')).status).toBe(200)
})

test('staff sign-in says the same for an unknown address as for a wrong password, and the same link message for both', async () => {
  const signIn = (fields: Record<string, string>, address: string) =>
    raw('POST', '/staff/sign-in', {
      headers: { origin: SITE, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
      body: new URLSearchParams({ redirectTo: '/staff', ...fields }).toString(),
    })
  const said = (html: string) =>
    [...html.matchAll(/<p[^>]*(?:role="alert"|role="status")[^>]*>([^<]*)</g)].map((match) => match[1]!.trim()).filter(Boolean)

  const unknown = await signIn({ intent: 'password', email: 'nobody-here@example.org', password: 'wrong password' }, '198.51.100.21')
  const wrong = await signIn({ intent: 'password', email: 'admin@example.org', password: 'wrong password' }, '198.51.100.22')
  expect(unknown.status).toBe(400)
  expect(wrong.status).toBe(unknown.status)
  expect(said(wrong.body)).toEqual(said(unknown.body))
  expect(said(unknown.body).length).toBeGreaterThan(0)

  const linkUnknown = await signIn({ intent: 'link', email: 'nobody-here@example.org' }, '198.51.100.23')
  const linkKnown = await signIn({ intent: 'link', email: 'admin@example.org' }, '198.51.100.24')
  expect(linkUnknown.status).toBe(200)
  expect(linkKnown.status).toBe(linkUnknown.status)
  expect(said(linkKnown.body)).toEqual(said(linkUnknown.body))
})
