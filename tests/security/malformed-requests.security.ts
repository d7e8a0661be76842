import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import getPort from 'get-port'
import { beforeAll, expect, inject, test } from 'vitest'
import { compiled } from '#scripts/build-server.ts'
import { PRODUCTION_SETTINGS } from '#tests/setup/production-settings.ts'
import { answerDemoAdminCode, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD } from '#tests/e2e/demo-admin.ts'
import { raw as rawRequest, type RawResponse } from './raw-request.ts'

/**
 * Requests no browser sends but anyone can: a NUL byte in a path or a query, a malformed `%`
 * escape, a TRACE. Each is answered 400, 404 or 405, never 500, and the server's output stays
 * pino's JSON lines (no stack trace printed outside the logger, where redaction cannot reach it).
 * node:http sends the path exactly as written; fetch would normalise it.
 */

const SITE = inject('siteUrl')
const EVENT = 'online-briefing-enforced-disappearances'
let staffCookie = ''

beforeAll(async () => {
  // The demo administrator: the password, then the TOTP code (docs/decisions/020), through the
  // load balancer as a browser would reach it.
  const form = { origin: SITE, 'content-type': 'application/x-www-form-urlencoded' }
  const cookiesOf = (response: RawResponse) =>
    (response.headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0]!).filter((cookie) => !cookie.endsWith('=')).join('; ')
  const signIn = await rawRequest('POST', '/staff/sign-in', {
    headers: form,
    body: new URLSearchParams({ intent: 'password', email: DEMO_ADMIN_EMAIL, password: DEMO_ADMIN_PASSWORD, redirectTo: '/staff' }).toString(),
  })
  expect(signIn.status, 'the demo admin signs in').toBe(303)
  const challenge = cookiesOf(signIn)
  await answerDemoAdminCode(async (code) => {
    const answer = await rawRequest('POST', '/staff/sign-in/code', { headers: { ...form, cookie: challenge }, body: new URLSearchParams({ code }).toString() })
    if (answer.status !== 303) return false
    staffCookie = cookiesOf(answer)
    return true
  })
})

/** Through the pretend load balancer, or straight to `origin` (a server of the test's own). */
function raw(method: string, path: string, headers: Record<string, string> = {}, origin?: URL) {
  if (!origin) return rawRequest(method, path, { headers })
  return rawRequest(method, path, { headers, server: origin, proxied: false })
}

test.each([
  ['/events/%00', 400],
  ['/appeals/%00', 400],
  [`/events/%00/calendar.ics`, 400],
  [`/events/${EVENT}%00/calendar.ics`, 400],
  ['/events?q=%00', 400],
  ['/events/%E0%A4%A', 400],
  ['/appeals/%E0%A4%A', 400],
  ['/%', 400],
  ['/build/%E0%A4%A.js', 400],
  ['/no-such-page', 404],
])('GET %s answers %i', async (path, status) => {
  const response = await raw('GET', path)
  expect(response.status).toBe(status)
  expect(response.headers['cache-control']).toBe('no-store')
})

test('a NUL byte in a staff search answers 400, not a database error', async () => {
  const response = await raw('GET', '/staff/donations?q=%00', { cookie: staffCookie })
  expect(response.status).toBe(400)
  const supporters = await raw('GET', '/staff/supporters?q=%00', { cookie: staffCookie })
  expect(supporters.status).toBe(400)
  // The same search without the NUL still works: POSTed, then the page it leads to.
  const search = await rawRequest('POST', '/staff/donations?index', {
    headers: { cookie: staffCookie, origin: SITE, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'q=a&appeal=&status=',
  })
  expect(search.status).toBe(303)
  expect((await raw('GET', search.headers.location!, { cookie: staffCookie })).status).toBe(200)
})

// (A method Node's parser does not know, such as TRACK, is answered 400 by Node before the app.)
test.each(['TRACE', 'OPTIONS', 'PROPFIND', 'PUT', 'PATCH', 'DELETE'])('%s / answers 405 with Allow', async (method) => {
  const response = await raw(method, '/')
  expect(response.status).toBe(405)
  expect(response.headers.allow).toBe('GET, HEAD, POST')
})

test("the server's output holds only JSON log lines, none of them an error from these requests", async () => {
  // The log is written as the server runs; give the last lines a moment to arrive.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const lines = (await readFile(inject('serverLogPath'), 'utf8')).split('\n').filter((line) => line.trim() !== '')
  // The one plain line the server prints on purpose, for the e2e runner.
  const notJson = lines.filter((line) => !line.startsWith('{') && !line.startsWith('Sanad listening on'))
  expect(notJson).toEqual([])
  const errors = lines.map((line) => (line.startsWith('{') ? (JSON.parse(line) as { level: number; msg?: string }) : undefined))
    .filter((entry) => entry !== undefined && entry.level >= 50)
  expect(errors).toEqual([])
})

test('with NODE_ENV=production, a malformed escape prints no stack trace outside the logger', async () => {
  // Express's own error handler prints stacks to stderr except when NODE_ENV=test, as the shared
  // e2e server runs: this one runs as production does, with placeholder keys that nothing uses.
  const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-malformed-'))
  const port = await getPort()
  let output = ''
  const statuses: Record<string, number> = {}
  const child = spawn(process.execPath, [compiled('index')], {
    env: {
      ...process.env,
      ...PRODUCTION_SETTINGS,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: '',
      PGLITE_DIR: path.join(folder, 'pglite'),
      WORKER_IN_PROCESS: 'false',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  try {
    const deadline = Date.now() + 90_000
    while (!output.includes('Sanad listening on')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`The production server did not start:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const origin = new URL(`http://127.0.0.1:${port}`)
    for (const path of ['/events/%E0%A4%A', '/appeals/%E0%A4%A', '/events/%00', '/%']) {
      statuses[path] = (await raw('GET', path, {}, origin)).status
    }
    statuses.TRACE = (await raw('TRACE', '/', {}, origin)).status
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
    await rm(folder, { recursive: true, force: true })
  }
  const lines = output.split('\n').filter((line) => line.trim() !== '')
  expect(lines.filter((line) => !line.startsWith('{') && !line.startsWith('Sanad listening on'))).toEqual([])
  expect(output).not.toContain('URIError')
  expect(statuses).toEqual({ '/events/%E0%A4%A': 400, '/appeals/%E0%A4%A': 400, '/events/%00': 400, '/%': 400, TRACE: 405 })
}, 120_000)
