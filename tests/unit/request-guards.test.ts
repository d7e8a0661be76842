import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import express from 'express'
import { afterEach, expect, test, vi } from 'vitest'
import { createErrorHandler, oneRequestAtATime } from '#app/server/request-guards.server.ts'
import { createLogger } from '#app/utils/logger.server.ts'

/**
 * Express's last error handler, which the guard in front of Express leaves for errors nothing else
 * caught: a client's mistake answers its own 4xx, anything else 500, and each goes to pino (with its
 * redaction), never to stderr as Express's default handler does outside NODE_ENV=test.
 */

afterEach(() => {
  vi.restoreAllMocks()
})

async function serve(app: express.Express) {
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const get = (path: string) =>
    new Promise<{ status: number; body: string; cacheControl?: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path }, (response) => {
          let body = ''
          response.on('data', (chunk: Buffer) => (body += chunk.toString()))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body, cacheControl: response.headers['cache-control'] }))
        })
        .on('error', reject)
    })
  return { get, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

test('a malformed escape in a route parameter answers 400 and a thrown error 500, both logged through pino only', async () => {
  const lines: string[] = []
  const logger = createLogger({ destination: new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }) })
  const stderr = vi.spyOn(process.stderr, 'write')
  const consoleError = vi.spyOn(console, 'error')
  const app = express()
  // Express's default handler stays quiet only when its env is 'test'; this is what production sees.
  app.set('env', 'production')
  app.get('/events/:slug', (_request, response) => void response.send('found'))
  app.get('/boom', () => {
    throw Object.assign(new Error('failed for amina@example.org'), { email: 'amina@example.org' })
  })
  app.use(createErrorHandler(logger))
  const { get, close } = await serve(app)
  try {
    const malformed = await get('/events/%E0%A4%A?token=secret')
    expect(malformed).toMatchObject({ status: 400, body: 'Bad request', cacheControl: 'no-store' })
    const boom = await get('/boom')
    expect(boom).toMatchObject({ status: 500, body: 'Something went wrong', cacheControl: 'no-store' })
  } finally {
    await close()
  }
  expect(stderr).not.toHaveBeenCalled()
  expect(consoleError).not.toHaveBeenCalled()
  const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; path: string; status?: number; err?: { email?: string } })
  expect(entries.map(({ level, msg, path, status }) => ({ level, msg, path, status }))).toEqual([
    { level: 40, msg: 'Request refused', path: '/events/%E0%A4%A', status: 400 },
    { level: 50, msg: 'Request failed', path: '/boom', status: undefined },
  ])
  // The query (which can carry a token) is not logged; redaction still applies to the error.
  expect(lines.join('')).not.toContain('secret')
  expect(entries[1]!.err?.email).toBe('[redacted]')
})

test('requests sent together on one connection (pipelined) are handled one at a time, and all answered in order', async () => {
  let active = 0
  let mostAtOnce = 0
  const server = http.createServer(
    oneRequestAtATime((request, response) => {
      active += 1
      mostAtOnce = Math.max(mostAtOnce, active)
      setTimeout(() => {
        active -= 1
        response.end(`answer to ${request.url}`)
      }, 5)
    }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    const received = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1')
      let text = ''
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if ((text.match(/answer to/g) ?? []).length === 20) socket.end()
      })
      socket.on('error', reject)
      socket.on('close', () => resolve(text))
      socket.write(Array.from({ length: 20 }, (_, index) => `GET /page-${index} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''))
    })
    expect(mostAtOnce).toBe(1)
    expect([...received.matchAll(/answer to \/page-(\d+)/g)].map((match) => Number(match[1]))).toEqual(Array.from({ length: 20 }, (_, index) => index))
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})
