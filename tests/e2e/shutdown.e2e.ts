import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import getPort from 'get-port'
import pg from 'pg'
import { afterAll, beforeAll, expect, onTestFailed, test } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '#app/utils/embedded-database.server.ts'
import { compiled } from '#scripts/build-server.ts'

/**
 * SIGTERM while a request is in flight (a deploy, a scale-down): the production server, built by
 * the e2e setup, is started here on its own database behind a proxy that can hold one statement.
 * A donation is posted, its transaction's COMMIT is held at the proxy, SIGTERM is sent, and only
 * then is the COMMIT let through. The request must finish, whole, and the process exit 0.
 */

/**
 * Shorter than Node's keep-alive timeout (5 s): a server that waited for its clients to let go of
 * their idle kept-alive connections would run out of grace and cut them.
 */
const GRACE_SECONDS = 4
const APPEAL = 'walk-again-yusuf'
const EVENT = 'online-briefing-enforced-disappearances'

/** Forwards PostgreSQL connections; can hold the first statement that matches until released. */
class HoldingProxy {
  private server = net.createServer((client) => this.accept(client))
  private sockets = new Set<net.Socket>()
  private hold: { matches: (text: string) => boolean; held: () => void; release: Promise<void> } | undefined
  port = 0

  constructor(private target: { host: string; port: number }) {}

  async start(port = 0) {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', resolve)
    })
    this.port = (this.server.address() as net.AddressInfo).port
  }

  /** The database is gone: its connections drop and new ones are refused. */
  async down() {
    for (const socket of this.sockets) socket.destroy()
    await this.stop()
  }

  async up() {
    if (this.server.listening) return
    this.server = net.createServer((client) => this.accept(client))
    await this.start(this.port)
  }

  /** Resolves once a matching statement arrives; it reaches the database when `release` settles. */
  holdNext(matches: (text: string) => boolean, release: Promise<void>) {
    return new Promise<void>((held) => {
      this.hold = { matches, held, release }
    })
  }

  stop() {
    return new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()))
  }

  private accept(client: net.Socket) {
    const upstream = net.connect(this.target)
    for (const socket of [client, upstream]) {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    }
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.pipe(client)
    let pending = Buffer.alloc(0)
    let started = false
    // Messages are forwarded in order; a held one holds back those after it on this connection.
    let forwarding = Promise.resolve()
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      for (;;) {
        const header = started ? 5 : 4
        if (pending.length < header) return
        const length = started ? pending.readInt32BE(1) + 1 : pending.readInt32BE(0)
        if (pending.length < length) return
        const message = Buffer.from(pending.subarray(0, length))
        pending = pending.subarray(length)
        const hold = this.hold
        if (started && hold?.matches(message.toString('latin1'))) {
          this.hold = undefined
          hold.held()
          forwarding = forwarding.then(() => hold.release)
        }
        started = true
        forwarding = forwarding.then(() => {
          upstream.write(message)
        })
      }
    })
  }
}

let database: { url: string; drop: () => Promise<void> }
let proxy: HoldingProxy

beforeAll(async () => {
  database = await freshDatabase()
  const url = new URL(database.url)
  proxy = new HoldingProxy({ host: url.hostname, port: Number(url.port || 5432) })
  await proxy.start()
})

afterAll(async () => {
  await proxy?.stop()
  await database?.drop()
})

test('SIGTERM with a donation in flight: it completes whole, new connections are refused, and the process exits 0', async () => {
  const server = await startServer()
  const submissionId = randomUUID()
  const form = new URLSearchParams({
    submissionId,
    frequency: 'one_off',
    amount: 'other',
    customAmount: '25',
    name: 'Shutdown Test',
    email: 'shutdown-test@example.org',
    message: '',
    website: '',
  })

  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const held = proxy.holdNext((text) => /^Q/.test(text) && /\bcommit\b/i.test(text), released)
  // A client that keeps its connection open for more requests, as browsers and proxies do.
  const agent = new http.Agent({ keepAlive: true })
  const response = postForm(`${server.baseUrl}/appeals/${APPEAL}`, form, agent)
  // The donation's rows are written and its COMMIT is on its way: the request is in flight.
  await held
  const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)))
  server.process.kill('SIGTERM')
  await server.waitForLog('Stopping: finishing requests in flight')

  expect(await connectionRefused(server.port)).toBe(true)

  release()
  const answer = await response
  expect(answer.status).toBe(303)
  expect(answer.location).toMatch(/\/dev\/checkout\//)

  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([
    exited,
    new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), (GRACE_SECONDS + 5) * 1000)
    }),
  ])
  clearTimeout(timer)
  if (code === 'still running') server.process.kill('SIGKILL')
  agent.destroy()
  expect(code).toBe(0)
  // It stopped because the requests were done, not because the grace period ran out.
  expect(server.log()).toContain('"msg":"Stopped"')
  expect(server.log()).not.toContain('Grace period over')

  // The donation is whole: the pending gift, its supporter, its first event and its session.
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    const { rows } = await client.query<{ status: string; session: string | null; events: string; supporter: string | null }>(
      `select d.status, d.stripe_checkout_session_id as session, d.supporter_id as supporter,
              (select count(*) from donation_events e where e.donation_id = d.id)::text as events
         from donations d where d.checkout_submission_id = $1`,
      [submissionId],
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ status: 'pending', events: '1' })
    expect(rows[0]!.session).not.toBeNull()
    expect(rows[0]!.supporter).not.toBeNull()
  } finally {
    await client.end()
  }
})

test('the database down: the production build answers pages with the 503 page, resource routes and /healthz with 503, then recovers', async () => {
  const server = await startServer()
  try {
    await proxy.down()
    const page = await fetch(`${server.baseUrl}/appeals/${APPEAL}`)
    expect(page.status).toBe(503)
    expect(page.headers.get('retry-after')).toBe('60')
    expect(page.headers.get('cache-control')).toBe('no-store')
    const html = await page.text()
    expect(html).toContain('We can&#x27;t reach our database right now')
    // The built stylesheet, which the server serves.
    const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1]
    expect(stylesheet).toMatch(/^\/build\//)
    expect((await fetch(`${server.baseUrl}${stylesheet}`)).status).toBe(200)
    expect((await fetch(`${server.baseUrl}/appeals/${APPEAL}.data`)).status).toBe(503)
    // Resource routes too (Remix answers them without the entry server): a calendar file.
    const calendar = await fetch(`${server.baseUrl}/events/${EVENT}/calendar.ics`)
    expect(calendar.status).toBe(503)
    expect(calendar.headers.get('retry-after')).toBe('60')
    expect(calendar.headers.get('cache-control')).toBe('no-store')
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(503)

    await proxy.up()
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200)
    expect((await fetch(`${server.baseUrl}/appeals/${APPEAL}`)).status).toBe(200)
  } finally {
    await proxy.up().catch(() => {})
    server.process.kill('SIGTERM')
    await new Promise((resolve) => (server.process.exitCode === null ? server.process.once('exit', resolve) : resolve(null)))
  }
})

async function startServer() {
  const port = await getPort()
  const baseUrl = `http://127.0.0.1:${port}`
  let output = ''
  const child: ChildProcess = spawn(process.execPath, [compiled('index')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(port),
      APP_URL: baseUrl,
      SESSION_SECRET: randomBytes(32).toString('hex'),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}${new URL(database.url).pathname}`,
      // The proxy hides whether the database is the embedded one; its one session cannot keep
      // named statements of several connections apart, and the held statement must be readable.
      DATABASE_PREPARED_STATEMENTS: 'false',
      SEED_ON_START: 'true',
      WORKER_IN_PROCESS: 'false',
      PAGE_CACHE_SECONDS: '0',
      SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const waitForLog = async (text: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs
    while (!output.includes(text)) {
      if (child.exitCode !== null) throw new Error(`The server exited (${child.exitCode}) before logging "${text}":\n${output}`)
      if (Date.now() > deadline) throw new Error(`The server did not log "${text}":\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  onTestFailed(() => console.error(`The server's output:\n${output}`))
  await waitForLog('Sanad listening on')
  return { process: child, port, baseUrl, waitForLog, log: () => output }
}

function postForm(url: string, form: URLSearchParams, agent: http.Agent) {
  return new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    const body = form.toString()
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), Origin: new URL(url).origin },
      },
      (response) => {
        response.resume()
        response.on('end', () => resolve({ status: response.statusCode ?? 0, location: response.headers.location }))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

function connectionRefused(port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}

/** A new database on DATABASE_URL's server, or an embedded one in this process. */
async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL
  if (!serverUrl) {
    const embedded: EmbeddedDatabase = await startEmbeddedDatabase({ dataDir: 'memory://' })
    return { url: embedded.url, drop: () => embedded.stop() }
  }
  const name = `sanad_e2e_shutdown_${randomBytes(4).toString('hex')}`
  const admin = async (statement: string) => {
    const adminUrl = new URL(serverUrl)
    adminUrl.pathname = '/postgres'
    const client = new pg.Client({ connectionString: adminUrl.toString() })
    await client.connect()
    await client.query(statement).finally(() => client.end())
  }
  await admin(`create database ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) }
}
