import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { createRequestHandler, type ServerBuild } from '@remix-run/node'
import { http, HttpResponse } from 'msw'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, test } from 'vitest'
import * as entry from '#app/entry.server.tsx'
import { createResendSender } from '#app/modules/email/resend.server.ts'
import { deliverOutboxEmail } from '#app/modules/email/outbox.server.ts'
import * as root from '#app/root.tsx'
import * as appealRoute from '#app/routes/appeals.$slug.tsx'
import * as eventRoute from '#app/routes/events.$slug.tsx'
import * as healthzRoute from '#app/routes/healthz.ts'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { isDatabaseUnavailable } from '#app/utils/database-unavailable.server.ts'
import { closeDb, getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { takeSingleton } from '#app/utils/singleton.server.ts'
import { server } from '#tests/mocks/node.ts'
import { clearResendCalls, recordResendCall, RESEND_EMAILS_URL, resendCalls } from '#tests/mocks/resend.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, ledgerTotals, outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createEvent, placesTaken, registrationsOf } from './registration-fixtures.ts'

/**
 * The database going away: the app reaches its database through a TCP proxy this file can cut,
 * refuse or black-hole, and the requests go through Remix's own request handler with the app's
 * entry (app/entry.server.tsx), so what is checked is what a browser would get.
 */

const ORIGIN = 'http://localhost'

// ---------------------------------------------------------------------------------------------
// A PostgreSQL-protocol-aware proxy. It forwards whole protocol messages and can drop every
// connection at a chosen statement: before the server sees it, or after the server answered it.
// ---------------------------------------------------------------------------------------------

type Statement = { connection: number; text: string }
type CutRule = { when: 'before' | 'after'; matches: (statement: Statement) => boolean; done: () => void }

/** Front-end messages after which the client waits for the server (Sync, Query, Flush, Terminate). */
const FLUSH_MESSAGES = new Set(['S', 'Q', 'H', 'X'])

class DatabaseProxy {
  private server = net.createServer((client) => this.accept(client))
  private sockets = new Set<net.Socket>()
  private silent = new Set<net.Socket>()
  private rule: CutRule | undefined
  private blackHole = false
  private connections = 0
  port = 0

  constructor(private target: { host: string; port: number }) {}

  async start(port = 0) {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.port = (this.server.address() as net.AddressInfo).port
  }

  /** The database is gone: open connections drop, new ones are refused (ECONNREFUSED). */
  async down() {
    this.dropAll()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Back on the same port. */
  async up() {
    this.server = net.createServer((client) => this.accept(client))
    await this.start(this.port)
  }

  /** Connections are accepted and nothing ever answers: a host that stopped responding. */
  setBlackHole(on: boolean) {
    this.blackHole = on
    if (on) return
    for (const socket of this.silent) socket.destroy()
    this.silent.clear()
  }

  /** Drops the connection that sends the first matching statement; resolves when it has. */
  cutAt(when: 'before' | 'after', matches: (statement: Statement) => boolean) {
    return new Promise<void>((resolve) => {
      this.rule = { when, matches, done: resolve }
    })
  }

  get listening() {
    return this.server.listening
  }

  dropAll() {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  async stop() {
    this.dropAll()
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket) {
    this.sockets.add(client)
    client.on('error', () => {})
    client.on('close', () => this.sockets.delete(client))
    if (this.blackHole) {
      this.silent.add(client)
      return
    }
    const id = ++this.connections
    const upstream = net.connect(this.target)
    this.sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => {
      this.sockets.delete(upstream)
      client.destroy()
    })
    client.on('close', () => upstream.destroy())

    let pending = Buffer.alloc(0)
    let batch: Buffer[] = []
    let started = false
    let cutOnReply: (() => void) | undefined
    const drop = () => {
      upstream.destroy()
      client.destroy()
    }
    upstream.on('data', (chunk) => {
      if (cutOnReply) {
        // The server has answered the statement: it happened, and the client never hears so.
        const done = cutOnReply
        cutOnReply = undefined
        drop()
        done()
        return
      }
      client.write(chunk)
    })
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      for (;;) {
        // The startup message has no type byte; every later message has one.
        const header = started ? 5 : 4
        if (pending.length < header) return
        const length = started ? pending.readInt32BE(1) + 1 : pending.readInt32BE(0)
        if (pending.length < length) return
        const message = pending.subarray(0, length)
        pending = pending.subarray(length)
        const type = started ? String.fromCharCode(message[0]!) : ''
        started = true
        batch.push(message)
        if (type !== '' && !FLUSH_MESSAGES.has(type)) continue
        const bytes = Buffer.concat(batch)
        batch = []
        const rule = this.rule
        if (rule && type !== '' && rule.matches({ connection: id, text: bytes.toString('latin1') })) {
          this.rule = undefined
          if (rule.when === 'before') {
            drop()
            rule.done()
            return
          }
          cutOnReply = rule.done
        }
        upstream.write(bytes)
      }
    })
  }
}

/** Matches the statements a connection sends inside its transaction: the Nth after `begin`. */
function nthStatementInTransaction(n: number) {
  const counts = new Map<number, number>()
  return ({ connection, text }: Statement) => {
    if (/\bbegin\b/i.test(text) && text.length < 64) {
      counts.set(connection, 0)
      return false
    }
    const count = counts.get(connection)
    if (count === undefined) return false
    counts.set(connection, count + 1)
    return count + 1 === n
  }
}

const isCommit = ({ text }: Statement) => /\bcommit\b/i.test(text) && text.length < 64

// ---------------------------------------------------------------------------------------------
// The app behind the proxy, and a Remix request handler with the app's entry and a few routes.
// ---------------------------------------------------------------------------------------------

const directUrl = process.env.DATABASE_URL!
const target = new URL(directUrl)
const proxy = new DatabaseProxy({ host: target.hostname, port: Number(target.port || 5432) })
await proxy.start()
const proxiedUrl = new URL(directUrl)
proxiedUrl.port = String(proxy.port)
process.env.DATABASE_URL = proxiedUrl.toString()
// The embedded database serves every connection from one session, where named prepared
// statements of two connections collide; the app turns them off there itself, but it cannot
// tell that this proxy's address leads to it.
if (!inject('postgresTemplate')) process.env.DATABASE_PREPARED_STATEMENTS = 'false'
resetEnvForTests()
await closeDb()

afterAll(async () => {
  await closeDb()
  await proxy.stop()
  process.env.DATABASE_URL = directUrl
  delete process.env.DATABASE_PREPARED_STATEMENTS
  delete process.env.RESEND_API_KEY
  resetEnvForTests()
})

function manifestRoute(id: string, parentId: string | undefined, path: string, module: Record<string, unknown>) {
  return {
    id,
    parentId,
    path,
    index: undefined,
    caseSensitive: undefined,
    module: `/build/${id}.js`,
    imports: [],
    hasAction: 'action' in module,
    hasLoader: 'loader' in module,
    hasClientAction: false,
    hasClientLoader: false,
    hasErrorBoundary: 'ErrorBoundary' in module,
  }
}

const routeModules = {
  root: { path: '', parentId: undefined, module: root },
  'routes/appeals.$slug': { path: 'appeals/:slug', parentId: 'root', module: appealRoute },
  'routes/events.$slug': { path: 'events/:slug', parentId: 'root', module: eventRoute },
  'routes/healthz': { path: 'healthz', parentId: 'root', module: healthzRoute },
}

/** The parts of a production build these tests need, with the app's own entry and routes. */
const build = {
  mode: 'production',
  entry: { module: entry },
  routes: Object.fromEntries(
    Object.entries(routeModules).map(([id, route]) => [id, { id, parentId: route.parentId, path: route.path, index: undefined, caseSensitive: undefined, module: route.module }]),
  ),
  assets: {
    entry: { module: '/build/entry.client.js', imports: [] },
    routes: Object.fromEntries(
      Object.entries(routeModules).map(([id, route]) => [id, manifestRoute(id, route.parentId, route.path, route.module)]),
    ),
    url: '/build/manifest.js',
    version: 'test',
  },
  publicPath: '/build/',
  assetsBuildDirectory: 'public/build',
  // As remix.config.js has them.
  future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true, v3_lazyRouteDiscovery: true, v3_singleFetch: true },
  isSpaMode: false,
} as unknown as ServerBuild

const handle = createRequestHandler(build, 'production')

let clientIp = 0
function post(path: string, form: Record<string, string>) {
  clientIp += 1
  return handle(
    new Request(`${ORIGIN}${path}`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'content-type': 'application/x-www-form-urlencoded', [CLIENT_IP_HEADER]: `198.51.100.${clientIp % 250}` },
    }),
  )
}

function donationForm(email: string) {
  return {
    submissionId: randomUUID(),
    frequency: 'one_off',
    amount: '2500',
    customAmount: '',
    name: 'Faults Test',
    email,
    message: '',
    website: '',
  }
}

function registrationForm(event: { ticketTypeId: string }, email: string) {
  return {
    submissionId: randomUUID(),
    ticketTypeId: event.ticketTypeId,
    quantity: '2',
    chosenPrice: '',
    name: 'Faults Test',
    email,
    accessNeeds: '',
    privacyConsent: 'on',
    website: '',
  }
}

async function expectDatabaseUnavailablePage(response: Response) {
  expect(response.status).toBe(503)
  expect(response.headers.get('retry-after')).toBe('60')
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
  const html = await response.text()
  expect(html).toMatch(/^<!DOCTYPE html>/)
  expect(html).toContain('We can&#x27;t reach our database right now')
  expect(html).toContain('Nothing was charged or saved. Please try again in a minute.')
  // Nothing to hydrate and nothing from elsewhere: the page stands alone.
  expect(html).not.toContain('<script')
}

async function countWhere(table: 'donations' | 'registrations' | 'supporters' | 'email_outbox', column: string, value: string) {
  const { rows } = await sql<{ count: number }>`select count(*)::int as count from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(getDb())
  return rows[0]!.count
}

/** What the event's counter says beside what its registrations add up to. */
async function capacityBesideRegistrations(eventId: string) {
  const { places_taken } = await placesTaken(eventId)
  const registrations = await registrationsOf(eventId)
  const counted = registrations.filter((row) => row.status === 'confirmed' || row.status === 'held' || row.status === 'offered').reduce((sum, row) => sum + row.quantity, 0)
  return { counter: places_taken, registrations: counted }
}

async function totalsBesideLedger(appealId: string) {
  const totals = await appealTotals(appealId)
  const ledger = await ledgerTotals(appealId)
  return {
    kept: { gross: totals.confirmed_gross_minor, donations: totals.donation_count, donors: totals.donor_count },
    ledger: { gross: ledger.gross, donations: ledger.donations, donors: ledger.donors },
  }
}

beforeAll(() => useTestStripe())
beforeEach(() => clearResendCalls())
afterEach(async () => {
  proxy.setBlackHole(false)
  if (!proxy.listening) await proxy.up()
  takeSingleton('rate-limiter:checkout')
  takeSingleton('rate-limiter:registration')
})

describe('isDatabaseUnavailable', () => {
  test('knows connection-level failures and nothing else', () => {
    const unavailable = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      Object.assign(new Error('protocol violation'), { code: '08P01' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout'),
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], 'all failed'),
      new Error('wrapped', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }),
    ]
    const otherFaults = [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      Object.assign(new Error('syntax error'), { code: '42601' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      new Error('Connection terminated by a test that says something else'),
      new Error('Unexpected Server Error'),
      'ECONNREFUSED',
      null,
      undefined,
    ]
    expect(unavailable.map(isDatabaseUnavailable)).toEqual(unavailable.map(() => true))
    expect(otherFaults.map(isDatabaseUnavailable)).toEqual(otherFaults.map(() => false))
  })
})

describe('the database down', () => {
  test('an appeal page is the 503 page, its data request a 503, /healthz a 503; back up, all answer again', async () => {
    const appeal = await createAppeal()
    await proxy.down()

    await expectDatabaseUnavailablePage(await handle(new Request(`${ORIGIN}/appeals/${appeal.slug}`)))
    const data = await handle(new Request(`${ORIGIN}/appeals/${appeal.slug}.data`))
    expect(data.status).toBe(503)
    expect(data.headers.get('retry-after')).toBe('60')
    expect(data.headers.get('cache-control')).toBe('no-store')
    const health = await handle(new Request(`${ORIGIN}/healthz`))
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({ status: 'unavailable', database: false })

    await proxy.up()
    const page = await handle(new Request(`${ORIGIN}/appeals/${appeal.slug}`))
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Test appeal')
    expect((await handle(new Request(`${ORIGIN}/appeals/${appeal.slug}.data`))).status).toBe(200)
    expect((await handle(new Request(`${ORIGIN}/healthz`))).status).toBe(200)
  })

  test('a page that does not exist is still a 404, without Retry-After', async () => {
    const page = await handle(new Request(`${ORIGIN}/appeals/no-such-appeal`))
    expect(page.status).toBe(404)
    expect(page.headers.get('retry-after')).toBeNull()
  })

  test('a server that accepts connections and never answers: /healthz and pages give up, with 503', async () => {
    const appeal = await createAppeal()
    // Connections already open would still answer; a host that stops answering has none.
    await closeDb()
    proxy.setBlackHole(true)
    expect((await handle(new Request(`${ORIGIN}/healthz`))).status).toBe(503)
    // The pool's connection timeout ends the wait ("timeout exceeded when trying to connect").
    await expectDatabaseUnavailablePage(await handle(new Request(`${ORIGIN}/appeals/${appeal.slug}`)))
    proxy.setBlackHole(false)
    expect((await handle(new Request(`${ORIGIN}/healthz`))).status).toBe(200)
  })

  test('a donation and a registration posted while it is down: 503, and nothing written once it is back', async () => {
    const appeal = await createAppeal()
    const event = await createEvent({ capacity: 10 })
    const donorEmail = `donor-${randomUUID().slice(0, 8)}@example.org`
    const attendeeEmail = `attendee-${randomUUID().slice(0, 8)}@example.org`
    const donation = donationForm(donorEmail)
    const registration = registrationForm(event, attendeeEmail)
    await proxy.down()

    await expectDatabaseUnavailablePage(await post(`/appeals/${appeal.slug}`, donation))
    await expectDatabaseUnavailablePage(await post(`/events/${event.slug}`, registration))
    // With JavaScript the same forms post to the data endpoint.
    expect((await post(`/appeals/${appeal.slug}.data`, donation)).status).toBe(503)
    expect((await post(`/events/${event.slug}.data`, registration)).status).toBe(503)

    await proxy.up()
    expect(await countWhere('donations', 'donor_email', donorEmail)).toBe(0)
    expect(await countWhere('registrations', 'email', attendeeEmail)).toBe(0)
    expect(await outboxFor(donorEmail)).toEqual([])
    expect(await outboxFor(attendeeEmail)).toEqual([])
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 0, capacity: 10 })

    // The same forms again, the database back: the pool has recovered and both go through.
    const donated = await post(`/appeals/${appeal.slug}`, donation)
    expect(donated.status).toBe(303)
    expect(donated.headers.get('location')).toMatch(/^https:\/\/checkout\.stripe\.com\//)
    const registered = await post(`/events/${event.slug}`, registration)
    expect(registered.status).toBe(303)
    // The same "check your email" answer whatever happened (docs/decisions/021).
    expect(registered.headers.get('location')).toMatch(/^\/events\/[^/]+\/registered$/)
    expect(await countWhere('donations', 'donor_email', donorEmail)).toBe(1)
    expect(await countWhere('registrations', 'email', attendeeEmail)).toBe(1)
    expect(await capacityBesideRegistrations(event.eventId)).toEqual({ counter: 2, registrations: 2 })
  })
})

describe('the connection cut in the middle of a transaction: the whole record or nothing', () => {
  for (const [name, when, at] of [
    ['after its first statements', 'before', nthStatementInTransaction(2)],
    ['just before its commit', 'before', isCommit],
    ['after the server committed, before the app heard', 'after', isCommit],
  ] as const) {
    test(`a registration, ${name}`, async () => {
      const event = await createEvent({ capacity: 3 })
      const email = `cut-${randomUUID().slice(0, 8)}@example.org`
      const form = registrationForm(event, email)
      const cut = proxy.cutAt(when, at)

      const response = await post(`/events/${event.slug}`, form)
      await cut
      await expectDatabaseUnavailablePage(response)

      const rows = await registrationsOf(event.eventId)
      const outbox = await outboxFor(email)
      if (when === 'after') {
        expect(rows).toHaveLength(1)
        expect(outbox).toHaveLength(1)
      } else {
        expect(rows).toHaveLength(0)
        expect(outbox).toHaveLength(0)
      }
      expect(await capacityBesideRegistrations(event.eventId)).toEqual({ counter: rows.length * 2, registrations: rows.length * 2 })

      // Trying again (the same form: the same submission id) gives one registration either way.
      const again = await post(`/events/${event.slug}`, form)
      expect(again.status).toBe(303)
      expect(await registrationsOf(event.eventId)).toHaveLength(1)
      expect(await outboxFor(email)).toHaveLength(1)
      expect(await capacityBesideRegistrations(event.eventId)).toEqual({ counter: 2, registrations: 2 })
    })

    test(`a donation's webhook confirmation, applied by the worker, ${name}`, async () => {
      const appeal = await createAppeal()
      const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 4_000 })
      const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 4_000 }))
      // Storing the event is one statement outside any transaction: the cut falls in the
      // applier's transaction. Stripe hears 200 either way: the event is safe in the inbox.
      const cut = proxy.cutAt(when, at)
      expect(await deliver(event)).toBe(200)
      await cut

      const donation = await getDb().selectFrom('donations').select('status').where('id', '=', donationId).executeTakeFirstOrThrow()
      const receipts = await countWhere('email_outbox', 'to_address', email)
      const inbox = await getDb().selectFrom('stripe_inbox').select('state').where('event_id', '=', event.id).executeTakeFirstOrThrow()
      if (when === 'after') {
        expect(donation.status).toBe('confirmed')
        expect(receipts).toBe(1)
        expect(inbox.state).toBe('applied')
      } else {
        expect(donation.status).toBe('pending')
        expect(receipts).toBe(0)
        expect(inbox.state).toBe('pending')
      }
      const before = await totalsBesideLedger(appeal.id)
      expect(before.kept).toEqual(before.ledger)
      expect(before.ledger.gross).toBe(when === 'after' ? 4_000 : 0)

      // The retry comes round (and Stripe delivers it again for good measure): applied once,
      // whichever way the cut fell.
      await getDb().updateTable('stripe_inbox').set({ next_attempt_at: new Date() }).where('event_id', '=', event.id).where('state', '=', 'pending').execute()
      expect(await deliver(event)).toBe(200)
      const after = await totalsBesideLedger(appeal.id)
      expect(after.kept).toEqual(after.ledger)
      expect(after.ledger).toEqual({ gross: 4_000, donations: 1, donors: 1 })
      expect(await countWhere('email_outbox', 'to_address', email)).toBe(1)
    })
  }
})

describe('the email provider failing never holds up a gift or a registration', () => {
  beforeAll(() => {
    process.env.RESEND_API_KEY = 're_test_faults_key'
    resetEnvForTests()
  })
  afterAll(() => {
    delete process.env.RESEND_API_KEY
    resetEnvForTests()
  })

  test('with Resend not answering at all, a webhook confirmation and a free registration complete; the emails wait in the outbox and go once Resend is back', async () => {
    // Resend accepts the connection and never answers: anything waiting on it would wait forever.
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        await recordResendCall(request, 0)
        return new Promise<never>(() => {})
      }),
    )
    const appeal = await createAppeal()
    const { donationId, email: donorEmail } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_000 })))).toBe(200)
    const event = await createEvent({ capacity: 5 })
    const attendeeEmail = `attendee-${randomUUID().slice(0, 8)}@example.org`
    const registered = await post(`/events/${event.slug}`, registrationForm(event, attendeeEmail))
    expect(registered.status).toBe(303)

    // Both are done and neither asked Resend anything: the emails are the worker's business.
    expect(resendCalls).toEqual([])
    expect((await getDb().selectFrom('donations').select('status').where('id', '=', donationId).executeTakeFirstOrThrow()).status).toBe('confirmed')
    const [receipt] = await outboxFor(donorEmail)
    const [confirmation] = await outboxFor(attendeeEmail)
    expect(receipt).toMatchObject({ status: 'queued', attempts: 0 })
    expect(confirmation).toMatchObject({ status: 'queued', attempts: 0 })

    // The worker's attempts while Resend fails (500, then the network error a timeout ends in)
    // leave each email queued for a later attempt, with its error for staff.
    const dependencies = { sender: createResendSender('re_test_faults_key'), from: 'CAGE <appeals@example.org>', giveUpAfterMs: 24 * 60 * 60 * 1000, random: () => 0.5 }
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        await recordResendCall(request, 500)
        return HttpResponse.json({ statusCode: 500, name: 'internal_server_error', message: 'down' }, { status: 500 })
      }),
    )
    for (const email of [receipt!, confirmation!]) expect((await deliverOutboxEmail(getDb(), email.id, dependencies)).outcome).toBe('retry')
    server.use(http.post(RESEND_EMAILS_URL, () => HttpResponse.error()))
    for (const email of [receipt!, confirmation!]) expect((await deliverOutboxEmail(getDb(), email.id, dependencies)).outcome).toBe('retry')
    for (const email of [donorEmail, attendeeEmail]) {
      const [row] = await outboxFor(email)
      expect(row).toMatchObject({ status: 'queued', attempts: 2, sent_at: null })
      expect(row!.last_error).toMatch(/network|application_error/)
      expect(row!.next_attempt_at).not.toBeNull()
    }

    // Resend is back: each email goes, once, with the key every attempt carried.
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        await recordResendCall(request, 200)
        return HttpResponse.json({ id: randomUUID() })
      }),
    )
    for (const email of [receipt!, confirmation!]) expect((await deliverOutboxEmail(getDb(), email.id, dependencies)).outcome).toBe('sent')
    for (const email of [receipt!, confirmation!]) {
      const calls = resendCalls.filter((call) => call.idempotencyKey === email.idempotency_key)
      expect(calls.map((call) => call.status)).toEqual([500, 200])
      expect((await outboxFor(email.to_address))[0]).toMatchObject({ status: 'sent' })
    }
  })
})
