import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect, test } from 'vitest'
import { bodyLimitFor, refuseOversizedBody } from '#app/server/request-guards.server.ts'

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
