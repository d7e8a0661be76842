import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { expect, test } from 'vitest'
import { bodyLimitFor, LINGER_MS, refuseOversizedBody } from '#app/server/request-guards.server.ts'

/**
 * Every POST says how large its body is and stays within what its route needs, or is refused
 * before a byte of it is read: 411 without a length, 413 over the limit.
 */
const LIMITS = { forms: 256 * 1024, photoForms: 8 * 1024 * 1024, webhooks: 1024 * 1024 }

test('each kind of route has its own limit', () => {
  expect(bodyLimitFor('/appeals/some-appeal', LIMITS)).toBe(LIMITS.forms)
  expect(bodyLimitFor('/staff/appeals/new', LIMITS)).toBe(LIMITS.photoForms)
  expect(bodyLimitFor('/staff/appeals/0b7d8f5e-0000-4000-8000-000000000000', LIMITS)).toBe(LIMITS.photoForms)
  expect(bodyLimitFor('/staff/appeals/0b7d8f5e-0000-4000-8000-000000000000/updates', LIMITS)).toBe(LIMITS.forms)
  // An event's cover photo comes with the event form, new or edited; its other staff pages are small forms.
  expect(bodyLimitFor('/staff/events/new', LIMITS)).toBe(LIMITS.photoForms)
  expect(bodyLimitFor('/staff/events/0b7d8f5e-0000-4000-8000-000000000000/edit', LIMITS)).toBe(LIMITS.photoForms)
  expect(bodyLimitFor('/staff/events/0b7d8f5e-0000-4000-8000-000000000000', LIMITS)).toBe(LIMITS.forms)
  expect(bodyLimitFor('/staff/events/0b7d8f5e-0000-4000-8000-000000000000/check-in', LIMITS)).toBe(LIMITS.forms)
  expect(bodyLimitFor('/webhooks/stripe', LIMITS)).toBe(LIMITS.webhooks)
})

test('a body over the limit gets 413 and one without a length 411, before the handler reads anything', async () => {
  let reached = 0
  const server = http.createServer((request, response) => {
    if (refuseOversizedBody(request, response, LIMITS)) return
    reached += 1
    request.resume()
    request.on('end', () => response.end('ok'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const send = (path: string, headers: Record<string, string>, body: string | null, chunked = false) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (response) => {
        let text = ''
        response.on('data', (chunk: Buffer) => (text += chunk.toString()))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
      })
      request.on('error', reject)
      if (chunked) request.write('a=1')
      request.end(body ?? undefined)
    })
  try {
    const small = 'amount=25&name=A'
    expect(await send('/appeals/x', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(small.length) }, small)).toEqual({ status: 200, body: 'ok' })
    const tooBig = await send('/appeals/x', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(LIMITS.forms + 1) }, null)
    expect(tooBig.status).toBe(413)
    expect(tooBig.body).toBe('This form is larger than 256 KB, the most it may send. Go back and shorten it.')
    const photo = await send('/staff/appeals/new', { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(LIMITS.photoForms + 1) }, null)
    expect(photo).toMatchObject({ status: 413, body: expect.stringContaining('or choose a smaller photo') })
    const webhook = await send('/webhooks/stripe', { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) }, null)
    expect(webhook.status).toBe(413)
    const chunked = await send('/appeals/x', { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' }, null, true)
    expect(chunked.status).toBe(411)
    expect(reached).toBe(1)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('a refused body is read into one reused buffer, not handed over piece by piece as the request body', async () => {
  // Each piece of a body Node's parser hands over is a fresh copy that V8 frees late; under a flood
  // of refused uploads those copies were most of the server's growth (docs/decisions/031).
  const seen: { asRequestData: number; fromSocket: number; status: number }[] = []
  const server = http.createServer((request, response) => {
    if (!refuseOversizedBody(request, response, LIMITS)) return void response.end('not refused')
    let asRequestData = 0
    request.on('data', (chunk: Buffer) => (asRequestData += chunk.length))
    response.once('close', () => seen.push({ asRequestData, fromSocket: request.socket.bytesRead, status: response.statusCode }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const bodyBytes = 3 * 1024 * 1024
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1')
      let received = ''
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
      socket.on('error', reject)
      socket.on('close', () => resolve(received))
      socket.write(`POST /appeals/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${bodyBytes}\r\n\r\n`)
      const piece = Buffer.alloc(64 * 1024, 'a')
      let sent = 0
      const writeMore = () => {
        while (sent < bodyBytes) {
          sent += piece.length
          if (!socket.write(piece)) return void socket.once('drain', writeMore)
        }
        socket.end()
      }
      writeMore()
    })
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    await expect.poll(() => seen.length).toBe(1)
    // The whole body was read (the connection lingered until the client had sent it all)...
    expect(seen[0]!.fromSocket).toBeGreaterThanOrEqual(bodyBytes)
    // ...but only what came with the head reached JavaScript as the request's data.
    expect(seen[0]!.asRequestData).toBeLessThanOrEqual(64 * 1024)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A server with only the body guard; answers 'ok' to what it lets through. */
async function guardedServer() {
  const server = http.createServer((request, response) => {
    if (!refuseOversizedBody(request, response, LIMITS)) return void response.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

/** Opens a raw connection, writes each packet in turn (after `gapMs`), and times what comes back. */
function exchange(port: number, packets: string[], gapMs = 50) {
  return new Promise<{ received: string; firstByteMs: number; closedMs: number }>((resolve, reject) => {
    const started = performance.now()
    const socket = net.connect(port, '127.0.0.1')
    let received = ''
    let firstByteMs = Number.NaN
    socket.on('data', (chunk: Buffer) => {
      if (!received) firstByteMs = performance.now() - started
      received += chunk.toString('latin1')
    })
    socket.on('error', reject)
    socket.on('close', () => resolve({ received, firstByteMs, closedMs: performance.now() - started }))
    packets.forEach((packet, index) => setTimeout(() => socket.write(packet), index * gapMs))
  })
}

test('a refused chunked body is let go as soon as its last chunk has come, not held for the whole lingering', async () => {
  const { server, port } = await guardedServer()
  try {
    const { received, closedMs } = await exchange(port, [
      'POST /appeals/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n',
      '400\r\n' + 'a'.repeat(0x400) + '\r\n',
      '0\r\n\r\n',
    ])
    expect(received).toMatch(/^HTTP\/1\.1 411 /)
    // The last chunk came at about 100 ms; the lingering would have held the connection 2 s.
    expect(closedMs).toBeLessThan(LINGER_MS / 2)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('a refused HEAD with a body gets its answer at once, not when the lingering ends', async () => {
  const { server, port } = await guardedServer()
  try {
    const { received, firstByteMs } = await exchange(port, ['HEAD /events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789'])
    expect(received).toMatch(/^HTTP\/1\.1 400 /)
    expect(firstByteMs).toBeLessThan(LINGER_MS / 2)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})
