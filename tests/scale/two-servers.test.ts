import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import getPort from 'get-port'
import pg from 'pg'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { signWebhookPayload } from '#app/modules/payments/stripe.server.ts'
import { migrations } from '#db/migrations/index.ts'
import { completedSession, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { compiled } from '#scripts/build-server.ts'
import { FAR_END_REDIRECT } from './build.ts'
import { startFarEnd, type FarEnd } from './far-end.ts'

/**
 * Two production web servers and one worker process on one real PostgreSQL, as a deployment
 * behind a load balancer runs them. They start at the same moment on an empty database, then take
 * donations, Stripe's webhooks (some delivered to each server, some twice, some to both at once),
 * refunds and registrations for a small event through both servers at once. Afterwards the totals
 * must equal the ledger, each event must have counted once, each email must have been sent once,
 * the event must not be oversold and every job must have run.
 */

const SERVER_URL = process.env.CI_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'
const PUBLIC_URL = 'https://donate.example.org'
const WEBHOOK_SECRET = `whsec_scale_${randomBytes(16).toString('hex')}`
const CHECKOUT_RATE_LIMIT = 4
const EVENT_CAPACITY = 5
const ARTIFACTS = path.resolve('tests/scale/artifacts')

type Process = { name: string; child: ChildProcess; log: WriteStream; logPath: string; url?: string }

let farEnd: FarEnd
let folder: string
let databaseName: string
let db: pg.Pool
let servers: [Process, Process]
let worker: Process
/** The environment all three processes share, as a deployment's configuration would be. */
let commonEnv: Record<string, string>

function databaseUrl(name: string) {
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') })
  await client.connect()
  await client.query(statement).finally(() => client.end())
}

/** Runs a compiled program as production does, with the test hook that sends Stripe and Resend to the fake far end. */
function nodeArgs(entry: string) {
  return ['--import', `./${FAR_END_REDIRECT}`, entry]
}

function start(name: string, entry: string, env: Record<string, string>, url?: string): Process {
  const logPath = path.join(ARTIFACTS, `${name}.log`)
  const log = createWriteStream(logPath)
  const child = spawn(process.execPath, nodeArgs(entry), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.pipe(log)
  child.stderr!.pipe(log)
  return { name, child, log, logPath, url }
}

async function waitFor(what: string, proc: Process, ready: () => Promise<boolean>) {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}; see ${proc.logPath}`)
    if (await ready().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${what} within 90 s; see ${proc.logPath}`)
}

function logLines(proc: Process): Record<string, unknown>[] {
  return readFileSync(proc.logPath, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

async function stop(proc: Process): Promise<number | null> {
  if (proc.child.exitCode === null) {
    const exited = new Promise((resolve) => proc.child.once('exit', resolve))
    proc.child.kill('SIGTERM')
    const timeout = setTimeout(() => proc.child.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timeout)
  }
  proc.log.end()
  return proc.child.exitCode
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-scale-'))
  databaseName = `sanad_scale_${randomBytes(4).toString('hex')}`
  await admin(`create database ${databaseName}`)
  db = new pg.Pool({ connectionString: databaseUrl(databaseName), max: 4 })
  // Dropping the database at the end ends idle connections; that is not a failure.
  db.on('error', () => {})
  farEnd = await startFarEnd()

  const common = (commonEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl(databaseName),
    PGLITE_DIR: '',
    APP_URL: PUBLIC_URL,
    MIGRATE_ON_START: 'true',
    SEED_ON_START: 'false',
    WORKER_IN_PROCESS: 'false',
    RATE_LIMIT_STORE: 'postgres',
    // One load balancer in front: it appends the client's address to X-Forwarded-For.
    TRUST_PROXY_HOPS: '1',
    CHECKOUT_RATE_LIMIT: String(CHECKOUT_RATE_LIMIT),
    UPLOADS_DIR: path.join(folder, 'uploads'),
    LOG_LEVEL: 'info',
    // Fake secrets: the SDKs use them against the fake far end only.
    SESSION_SECRET: randomBytes(32).toString('hex'),
    STRIPE_SECRET_KEY: 'sk_test_scale_out_fake_key',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RESEND_API_KEY: 're_scale_out_fake_key',
    RESEND_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    EMAIL_FROM: 'Sanad <appeals@example.org>',
    // The throttle protects Resend's limit; the fake has none, and the test should not wait on it.
    EMAIL_RATE_PER_SECOND: '0',
    SCALE_FAR_END_URL: farEnd.url,
  })
  const [portA, portB] = [await getPort(), await getPort()]
  // All three at the same moment, each applying migrations to the empty database.
  servers = [
    start('server-a', compiled('index'), { ...common, PORT: String(portA) }, `http://127.0.0.1:${portA}`),
    start('server-b', compiled('index'), { ...common, PORT: String(portB) }, `http://127.0.0.1:${portB}`),
  ]
  worker = start('worker', compiled('worker'), common)
  await Promise.all([
    ...servers.map((server) => waitFor('The server did not become healthy', server, async () => (await fetch(`${server.url}/healthz`)).ok)),
    waitFor('The worker did not start', worker, async () => logLines(worker).some((line) => line.msg === 'Worker started')),
  ])
})

afterAll(async () => {
  await Promise.all([...(servers ?? []), ...(worker ? [worker] : [])].map(stop))
  await db?.end()
  await farEnd?.close()
  if (databaseName) await admin(`drop database if exists ${databaseName} with (force)`)
  if (folder) await rm(folder, { recursive: true, force: true })
})

async function query<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
  return (await db.query(text, values)).rows as Row[]
}

/** A browser's form post from `clientIp`, as the load balancer passes it on. */
function post(server: Process, pathname: string, form: Record<string, string>, clientIp: string, cookie?: string) {
  return fetch(`${server.url}${pathname}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: PUBLIC_URL,
      'X-Forwarded-For': clientIp,
      'X-Forwarded-Host': new URL(PUBLIC_URL).host,
      'X-Forwarded-Proto': 'https',
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: new URLSearchParams(form),
  })
}

async function deliverWebhook(server: Process, event: { id: string }) {
  const payload = JSON.stringify(event)
  const response = await fetch(`${server.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signWebhookPayload(payload, WEBHOOK_SECRET) },
    body: payload,
  })
  return response.status
}

let appeal: { id: string; slug: string }
let event: { id: string; slug: string; ticketTypeId: string }
/** What Stripe says about each donation, for the totals the ledger must reach. */
const gifts: { donationId: string; email: string; amountMinor: number; paymentIntent: string; refundedMinor: number }[] = []
const sentEvents = new Set<string>()

test('started together on an empty database, the three processes applied each migration once', async () => {
  const applied = [...servers, worker].flatMap(logLines).filter((line) => line.msg === 'Applied database migrations')
  expect(applied.reduce((sum, line) => sum + Number(line.applied), 0)).toBe(Object.keys(migrations).length)
  const recorded = await query<{ name: string }>('select name from kysely_migration order by name')
  expect(recorded.map((row) => row.name)).toEqual(Object.keys(migrations).sort())
  const [queue] = await query<{ count: number }>('select count(*)::int as count from graphile_worker.migrations')
  expect(queue!.count).toBeGreaterThan(0)

  // Production has no demo data: the appeal and the event are set up as staff would.
  ;[appeal] = await query<{ id: string; slug: string }>(
    `insert into appeals (slug, title, summary, beneficiary_name, story_markdown, currency, goal_minor, suggested_amounts_minor, status, published_at)
     values ('scale-appeal', 'Scale appeal', 'Two servers', 'A beneficiary', 'Story', 'GBP', 1000000, '{1000,2500}', 'published', now())
     returning id, slug`,
  ) as [{ id: string; slug: string }]
  const [created] = await query<{ id: string; slug: string }>(
    `insert into events (slug, title, summary, description_markdown, starts_at, ends_at, time_zone, mode, venue_name,
                         venue_address, organiser_name, capacity, max_per_order, status, published_at)
     values ('scale-event', 'Scale event', 'Two servers', 'Description', now() + interval '14 days', now() + interval '14 days 2 hours',
             'Europe/London', 'in_person', 'Community hall', '1 High Street, London', 'Organiser', $1, 1, 'published', now())
     returning id, slug`,
    [EVENT_CAPACITY],
  )
  const [ticket] = await query<{ id: string }>(
    `insert into ticket_types (event_id, name, kind, currency) values ($1, 'Free place', 'free', 'GBP') returning id`,
    [created!.id],
  )
  event = { ...created!, ticketTypeId: ticket!.id }
})

test('donations through both servers: each webhook counts once wherever and however often it arrives', async () => {
  const donors = Array.from({ length: 12 }, (_, index) => ({
    server: servers[index % 2]!,
    email: `donor-${index}@example.org`,
    amount: (index % 3 === 0 ? { amount: 'other', customAmount: `${5 + index}.50` } : { amount: index % 3 === 1 ? '1000' : '2500' }) as Record<string, string>,
    clientIp: `198.51.100.${index + 1}`,
  }))
  const form = (donor: (typeof donors)[number], submissionId: string) => ({
    submissionId,
    frequency: 'one_off',
    ...donor.amount,
    name: 'Scale Donor',
    email: donor.email,
  })

  // Every donor at once, half through each server; the last one's browser sends the form twice,
  // once to each server, at the same moment.
  const checkouts = await Promise.all(
    donors.map(async (donor, index) => {
      const submissionId = randomUUID()
      if (index < donors.length - 1) return [await post(donor.server, `/appeals/${appeal.slug}`, form(donor, submissionId), donor.clientIp)]
      return Promise.all(servers.map((server) => post(server, `/appeals/${appeal.slug}`, form(donor, submissionId), donor.clientIp)))
    }),
  )
  const sessions = checkouts.map((responses) => {
    for (const response of responses) expect(response.status).toBe(303)
    const locations = new Set(responses.map((response) => response.headers.get('location')))
    expect(locations.size).toBe(1)
    const session = farEnd.sessions.get(new URL([...locations][0]!).pathname.split('/').at(-1)!)
    expect(session?.donationId).toBeTruthy()
    return session!
  })
  expect(new Set(sessions.map((session) => session.donationId)).size).toBe(donors.length)
  const pending = await query<{ count: number }>(`select count(*)::int as count from donations where appeal_id = $1`, [appeal.id])
  expect(pending[0]!.count).toBe(donors.length)

  const completions = sessions.map((session, index) => {
    const paymentIntent = `pi_scale_${index}_${randomBytes(4).toString('hex')}`
    gifts.push({ donationId: session.donationId!, email: donors[index]!.email, amountMinor: session.amountMinor, paymentIntent, refundedMinor: 0 })
    return stripeEvent('checkout.session.completed', {
      ...completedSession({ donationId: session.donationId!, amountMinor: session.amountMinor, paymentIntent }),
      id: session.id,
    })
  })
  // A, B, twice to A, and to both at once: all of them concurrently.
  const statuses = await Promise.all(
    completions.map(async (completed, index) => {
      sentEvents.add(completed.id)
      const [a, b] = servers
      switch (index % 4) {
        case 0:
          return [await deliverWebhook(a, completed)]
        case 1:
          return [await deliverWebhook(b, completed)]
        case 2:
          return [await deliverWebhook(a, completed), await deliverWebhook(a, completed)]
        default:
          return Promise.all([deliverWebhook(a, completed), deliverWebhook(b, completed)])
      }
    }),
  )
  expect(statuses.flat()).toEqual(Array(statuses.flat().length).fill(200))

  // Refunds, in the order Stripe makes them (its amount_refunded is the running total): some
  // delivered to both servers at once, some twice to one, the rest once.
  const refundPlans = [
    { gift: 0, running: [300] },
    { gift: 1, running: [gifts[1]!.amountMinor] },
    { gift: 2, running: [100, 250] },
    { gift: 3, running: [gifts[3]!.amountMinor] },
    { gift: 5, running: [500] },
  ]
  await Promise.all(
    refundPlans.map(async (plan, planIndex) => {
      const gift = gifts[plan.gift]!
      for (const [step, running] of plan.running.entries()) {
        const refunded = stripeEvent('charge.refunded', refundedCharge({ paymentIntent: gift.paymentIntent, amountMinor: gift.amountMinor, amountRefundedMinor: running }))
        sentEvents.add(refunded.id)
        const [a, b] = servers
        const mode = (planIndex + step) % 3
        const delivered =
          mode === 0
            ? await Promise.all([deliverWebhook(a, refunded), deliverWebhook(b, refunded)])
            : mode === 1
              ? [await deliverWebhook(b, refunded), await deliverWebhook(b, refunded)]
              : [await deliverWebhook(a, refunded)]
        expect(delivered).toEqual(delivered.map(() => 200))
        gift.refundedMinor = running
      }
    }),
  )
})

test('staff sign in on one server and refund on the other; a double click on both refunds once', async () => {
  const password = randomBytes(12).toString('hex')
  const created = spawnSync(
    process.execPath,
    [...nodeArgs(compiled('staff-create')), '--email', 'staff@example.org', '--role', 'staff', '--password', password],
    { env: { ...process.env, ...commonEnv }, encoding: 'utf8' },
  )
  expect(created.status, created.stderr).toBe(0)
  const [a, b] = servers
  const signIn = await post(a, '/staff/sign-in', { email: 'staff@example.org', password }, '198.51.100.200')
  expect(signIn.status).toBe(303)
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!
  const refund = (server: Process, donationId: string, form: Record<string, string>) =>
    post(server, `/staff/donations/${donationId}`, { intent: 'refund', ...form }, '198.51.100.200', cookie)

  // A full refund clicked twice, the clicks reaching different servers at the same moment.
  const full = gifts[6]!
  const doubleClick = await Promise.all([refund(a, full.donationId, { kind: 'full' }), refund(b, full.donationId, { kind: 'full' })])
  expect(doubleClick.map((response) => response.status)).toEqual([200, 200])
  const partial = gifts[7]!
  expect((await refund(b, partial.donationId, { kind: 'partial', amount: '1.25' })).status).toBe(200)

  const requested = farEnd.refundRequests.filter((request) => request.paymentIntent === full.paymentIntent)
  expect(requested.map((request) => request.amountMinor)).toEqual([full.amountMinor, full.amountMinor])
  expect(new Set(requested.map((request) => request.idempotencyKey)).size).toBe(1)
  const made = [...farEnd.refunds.values()]
  expect(made.map((made) => [made.paymentIntent, made.amountMinor]).sort()).toEqual(
    [
      [full.paymentIntent, full.amountMinor],
      [partial.paymentIntent, 125],
    ].sort(),
  )

  // Stripe then reports each refund it made, once, to one server or the other.
  for (const [index, gift] of [full, partial].entries()) {
    const running = gift === full ? full.amountMinor : 125
    const refunded = stripeEvent('charge.refunded', refundedCharge({ paymentIntent: gift.paymentIntent, amountMinor: gift.amountMinor, amountRefundedMinor: running }))
    sentEvents.add(refunded.id)
    expect(await deliverWebhook(servers[index % 2]!, refunded)).toBe(200)
    gift.refundedMinor = running
  }
})

test('checkout rate limits are shared: one address cannot double its allowance by spreading over two servers', async () => {
  const statuses: number[] = []
  for (let attempt = 0; attempt < CHECKOUT_RATE_LIMIT + 2; attempt++) {
    const response = await post(
      servers[attempt % 2]!,
      `/appeals/${appeal.slug}`,
      { submissionId: randomUUID(), frequency: 'one_off', amount: '1000', name: 'Card Tester', email: `tester-${attempt}@example.org` },
      '203.0.113.77',
    )
    statuses.push(response.status)
  }
  expect(statuses).toEqual([...Array(CHECKOUT_RATE_LIMIT).fill(303), 429, 429])
})

test('registrations for a small event through both servers at once never oversell it', async () => {
  const people = Array.from({ length: 14 }, (_, index) => ({
    server: servers[index % 2]!,
    form: {
      submissionId: randomUUID(),
      ticketTypeId: event.ticketTypeId,
      quantity: '1',
      name: `Attendee ${index}`,
      email: `attendee-${index}@example.org`,
      privacyConsent: 'on',
    },
    clientIp: `192.0.2.${index + 1}`,
  }))
  // The last person's form reaches both servers at once (a double submit through the balancer).
  const responses = await Promise.all(
    people.flatMap((person, index) =>
      index === people.length - 1
        ? servers.map((server) => post(server, `/events/${event.slug}`, person.form, person.clientIp))
        : [post(person.server, `/events/${event.slug}`, person.form, person.clientIp)],
    ),
  )
  for (const response of responses) expect(response.status).toBe(303)

  const registrations = await query<{ status: string; quantity: number; email: string }>(
    'select status, quantity, email from registrations where event_id = $1',
    [event.id],
  )
  expect(registrations).toHaveLength(people.length)
  expect(new Set(registrations.map((row) => row.email)).size).toBe(people.length)
  const confirmed = registrations.filter((row) => row.status === 'confirmed').reduce((sum, row) => sum + row.quantity, 0)
  expect(confirmed).toBe(EVENT_CAPACITY)
  expect(registrations.filter((row) => row.status === 'waitlisted')).toHaveLength(people.length - EVENT_CAPACITY)
  const [places] = await query<{ places_taken: number }>('select places_taken from events where id = $1', [event.id])
  expect(places!.places_taken).toBe(EVENT_CAPACITY)
})

test('after the worker drains: totals equal the ledger, each email went once, every job ran once', async () => {
  // The worker is done when every email is settled and no job is left, failed ones included
  // (graphile-worker deletes a job once it succeeds and keeps one that failed).
  const deadline = Date.now() + 90_000
  let jobsLeft: unknown[]
  for (;;) {
    const [{ emails }] = (await query<{ emails: number }>(
      `select count(*)::int as emails from email_outbox where status in ('queued', 'sending')`,
    )) as [{ emails: number }]
    // Jobs due now; a waitlist entry's lapse is scheduled for a day ahead (docs/decisions/023).
    jobsLeft = await query('select task_identifier, attempts, last_error, run_at from graphile_worker.jobs where run_at <= now()')
    // Stripe's events are stored by the servers and applied by the worker (docs/decisions/014).
    const [{ events }] = (await query<{ events: number }>(`select count(*)::int as events from stripe_inbox where state = 'pending'`)) as [{ events: number }]
    if ((emails === 0 && events === 0 && jobsLeft.length === 0) || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  expect(jobsLeft).toEqual([])

  // Totals kept up by the webhooks' transactions equal the ledger recomputed from its rows, and
  // both equal what Stripe said.
  const [kept] = await query<Record<string, number>>(
    `select confirmed_gross_minor::int as gross, refunded_minor::int as refunded, disputed_minor::int as disputed,
            donation_count::int as donations, donor_count::int as donors
     from appeal_totals where appeal_id = $1`,
    [appeal.id],
  )
  const [ledger] = await query<Record<string, number>>(
    `select coalesce(sum(l.amount_minor) filter (where l.kind = 'charge'), 0)::int as gross,
            coalesce(-sum(l.amount_minor) filter (where l.kind = 'refund'), 0)::int as refunded,
            coalesce(-sum(l.amount_minor) filter (where l.kind in ('dispute_hold', 'dispute_release')), 0)::int as disputed,
            (select count(*) from donations where appeal_id = $1 and status = 'confirmed')::int as donations,
            (select count(distinct supporter_id) from donations where appeal_id = $1 and status = 'confirmed')::int as donors
     from ledger_entries l where l.appeal_id = $1`,
    [appeal.id],
  )
  expect(kept).toEqual(ledger)
  expect(kept).toEqual({
    gross: gifts.reduce((sum, gift) => sum + gift.amountMinor, 0),
    refunded: gifts.reduce((sum, gift) => sum + gift.refundedMinor, 0),
    disputed: 0,
    donations: gifts.length,
    donors: new Set(gifts.map((gift) => gift.email)).size,
  })

  // Each event stored once and applied, and no event left more than one ledger row.
  const recorded = await query<{ event_id: string }>(`select event_id from stripe_inbox where state = 'applied'`)
  expect(recorded.map((row) => row.event_id).sort()).toEqual([...sentEvents].sort())
  const twice = await query('select stripe_event_id, count(*)::int from ledger_entries group by 1 having count(*) > 1')
  expect(twice).toEqual([])
  const charges = await query<{ donation_id: string; count: number }>(
    `select donation_id, count(*)::int as count from ledger_entries where kind = 'charge' group by 1`,
  )
  expect(charges.map((row) => row.count)).toEqual(gifts.map(() => 1))

  // One outbox row per receipt and per registration, each sent in one attempt and received by
  // Resend exactly once.
  const outbox = await query<{ idempotency_key: string; status: string; attempts: number }>(
    'select idempotency_key, status, attempts from email_outbox order by idempotency_key',
  )
  const receipts = outbox.filter((row) => row.idempotency_key.startsWith('donation-receipt/'))
  expect(receipts.map((row) => row.idempotency_key).sort()).toEqual(gifts.map((gift) => `donation-receipt/${gift.donationId}`).sort())
  const registrationIds = await query<{ id: string; status: string }>('select id, status from registrations where event_id = $1', [event.id])
  for (const registration of registrationIds) {
    const kind = registration.status === 'confirmed' ? 'registration-confirmed' : 'waitlist-joined'
    expect(outbox.filter((row) => row.idempotency_key.includes(registration.id)).map((row) => row.idempotency_key)).toEqual([
      `${kind}/${registration.id}`,
    ])
  }
  expect(outbox.filter((row) => row.status !== 'sent' || row.attempts !== 1)).toEqual([])
  const received = new Map<string, number>()
  for (const email of farEnd.emails) received.set(String(email.idempotencyKey), (received.get(String(email.idempotencyKey)) ?? 0) + 1)
  expect(Object.fromEntries(received)).toEqual(Object.fromEntries(outbox.map((row) => [row.idempotency_key, 1])))

  expect(farEnd.unexpected).toEqual([])
})

test('every process stops cleanly on SIGTERM, having logged no errors', async () => {
  const processes = [...servers, worker]
  const codes = await Promise.all(processes.map(stop))
  expect(codes).toEqual([0, 0, 0])
  for (const proc of processes) {
    const errors = logLines(proc).filter((line) => Number(line.level) >= 50)
    expect({ process: proc.name, errors }).toEqual({ process: proc.name, errors: [] })
    // far-end-redirect.ts says so here when it refuses a request to an outside host.
    expect(readFileSync(proc.logPath, 'utf8')).not.toContain('far-end-redirect: refused')
  }
})
