import { sql } from 'kysely'
import { http, HttpResponse } from 'msw'
import { beforeAll, describe, expect, test } from 'vitest'
import { refundPayment } from '#app/modules/donations/stripe.server.ts'
import { refundRegistration, releaseExpiredHold } from '#app/modules/registrations/paid-tickets.server.ts'
import { action as checkoutAction, loader as checkoutLoader } from '#app/routes/dev.checkout.registration.$id.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { server } from '#tests/mocks/node.ts'
import { recordStripeCall, STRIPE_API, stripeCalls, stripeEvent } from '#tests/mocks/stripe.ts'
import { deliver, outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createEvent, placesTaken, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'

const db = getDb()
const PRICE = 1_500

beforeAll(() => useTestStripe())

/** An event with a free ticket (from the fixture) and a paid one, which the tests book. */
async function createPaidEvent(capacity: number) {
  const event = await createEvent({ capacity })
  const paid = await db
    .insertInto('ticket_types')
    .values({ event_id: event.eventId, name: 'Standard ticket', kind: 'paid', price_minor: PRICE, currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { ...event, freeTicketTypeId: event.ticketTypeId, ticketTypeId: paid.id }
}

async function registration(id: string) {
  return db.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

/** Registers for a paid ticket and returns the held registration's id, read back from the database. */
async function hold(event: Awaited<ReturnType<typeof createPaidEvent>>, overrides: Parameters<typeof registrationRequest>[1] = {}) {
  const request = registrationRequest(event, overrides)
  const outcome = await register(request)
  if (outcome.kind !== 'checkout') throw new Error(`expected checkout, got ${outcome.kind}`)
  const row = await db.selectFrom('registrations').selectAll().where('submission_id', '=', request.submissionId).executeTakeFirstOrThrow()
  return { request, outcome, row }
}

function sessionCalls(registrationId: string) {
  return stripeCalls.filter((call) => call.path === '/v1/checkout/sessions' && call.idempotencyKey === `registration-checkout:${registrationId}`)
}

/** The Checkout Session of a registration, as Stripe sends it in its events. */
function ticketSession(row: { id: string; amount_minor: number }, options: { paymentStatus?: 'paid' | 'unpaid'; status?: 'complete' | 'expired' } = {}) {
  return {
    id: `cs_test_${row.id.slice(0, 8)}`,
    object: 'checkout.session',
    mode: 'payment',
    client_reference_id: row.id,
    metadata: { registration_id: row.id, event_id: 'irrelevant' },
    amount_total: row.amount_minor,
    currency: 'gbp',
    customer: null,
    payment_intent: `pi_${row.id.slice(0, 8)}`,
    payment_status: options.paymentStatus ?? 'paid',
    status: options.status ?? 'complete',
  }
}

async function jobsWithKey(key: string) {
  const { rows } = await sql<{ run_at: Date; task_identifier: string }>`
    select run_at, task_identifier from graphile_worker.jobs where key = ${key}`.execute(db)
  return rows
}

describe('holding places for a paid ticket', () => {
  test('takes the places, holds them until the Checkout Session ends, and asks Stripe once with the registration key', async () => {
    const event = await createPaidEvent(5)
    const before = Date.now()
    const { outcome, row } = await hold(event, { quantity: 2 })
    expect(outcome.url).toMatch(/^https:\/\/checkout\.stripe\.com\//)
    expect(row).toMatchObject({ status: 'held', amount_minor: 2 * PRICE, currency: 'GBP', checkin_token: null, confirmed_at: null })
    expect(row.stripe_checkout_session_id).toMatch(/^cs_test_/)
    const holdMs = row.hold_expires_at!.getTime() - before
    expect(holdMs).toBeGreaterThanOrEqual(30 * 60 * 1000)
    expect(holdMs).toBeLessThan(35 * 60 * 1000)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 2, capacity: 5 })

    const [call, ...others] = sessionCalls(row.id)
    expect(others).toHaveLength(0)
    expect(call!.form.get('mode')).toBe('payment')
    expect(call!.form.get('expires_at')).toBe(String(Math.ceil(row.hold_expires_at!.getTime() / 1000)))
    expect(call!.form.get('metadata[registration_id]')).toBe(row.id)
    expect(call!.form.get('payment_intent_data[metadata][registration_id]')).toBe(row.id)
    expect(call!.form.get('client_reference_id')).toBe(row.id)
    expect(call!.form.get('line_items[0][price_data][unit_amount]')).toBe(String(2 * PRICE))

    const [job] = await jobsWithKey(`release-hold:${row.id}`)
    expect(job!.task_identifier).toBe('release_registration_hold')
    expect(job!.run_at.getTime()).toBe(row.hold_expires_at!.getTime())
    // Nothing is emailed until the payment, or the end of the hold, says what happened.
    expect(await outboxFor(row.email)).toHaveLength(0)
  })

  test('a double submit, at once and again later, is one registration with one session', async () => {
    const event = await createPaidEvent(5)
    const request = registrationRequest(event)
    const outcomes = await Promise.all([register(request), register(request)])
    const again = await register(request)
    const urls = [...outcomes, again].map((outcome) => (outcome.kind === 'checkout' ? outcome.url : outcome.kind))
    expect(new Set(urls).size).toBe(1)
    expect(urls[0]).toMatch(/^https:\/\/checkout\.stripe\.com\//)
    const rows = await registrationsOf(event.eventId)
    expect(rows).toHaveLength(1)
    const keys = new Set(stripeCalls.filter((call) => call.form.get('client_reference_id') === rows[0]!.id).map((call) => call.idempotencyKey))
    expect([...keys]).toEqual([`registration-checkout:${rows[0]!.id}`])
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
  })

  test('when the places do not fit, the person waits without paying', async () => {
    const event = await createPaidEvent(1)
    await hold(event)
    const outcome = await register(registrationRequest(event))
    expect(outcome).toMatchObject({ kind: 'waitlisted', position: 1 })
    const rows = await registrationsOf(event.eventId)
    expect(rows.map((row) => [row.status, row.amount_minor, row.stripe_checkout_session_id])).toEqual([
      ['held', PRICE, expect.stringMatching(/^cs_test_/)],
      ['waitlisted', 0, null],
    ])
  })

  test('Stripe failing gives the places back at once and answers unavailable; trying again starts afresh', async () => {
    const event = await createPaidEvent(1)
    let failing = true
    server.use(
      http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request }) => {
        if (!failing) return undefined
        await recordStripeCall(request)
        return HttpResponse.json({ error: { type: 'invalid_request_error', message: 'Stripe says no' } }, { status: 400 })
      }),
    )
    const request = registrationRequest(event)
    const outcome = await register(request)
    expect(outcome).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('Nothing has been charged') })
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 0 })
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['expired'])

    failing = false
    expect(await register(request)).toMatchObject({ kind: 'checkout' })
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['expired', 'held'])
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
  })

  // Row locks only mean something on a real server: PGlite runs one transaction at a time.
  test('20 paid attempts at once for 5 places: exactly 5 held, 15 waiting, none oversold', async () => {
    const event = await createPaidEvent(5)
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => register(registrationRequest(event))))
    expect(outcomes.filter((outcome) => outcome.kind === 'checkout')).toHaveLength(5)
    expect(outcomes.filter((outcome) => outcome.kind === 'waitlisted')).toHaveLength(15)
    const rows = await registrationsOf(event.eventId)
    expect(rows.filter((row) => row.status === 'held')).toHaveLength(5)
    expect(rows.filter((row) => row.status === 'waitlisted')).toHaveLength(15)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 5, capacity: 5 })
  })
})

describe('the webhook for a ticket', () => {
  test('a paid session confirms the registration once, with one confirmation email, however often it arrives', async () => {
    const event = await createPaidEvent(3)
    const { row } = await hold(event)
    const completed = stripeEvent('checkout.session.completed', ticketSession(row))
    expect(await deliver(completed)).toBe(200)
    expect(await deliver(completed)).toBe(200)
    expect(await deliver(stripeEvent('checkout.session.async_payment_succeeded', ticketSession(row)))).toBe(200)
    const confirmed = await registration(row.id)
    expect(confirmed).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: `pi_${row.id.slice(0, 8)}` })
    expect(confirmed.checkin_token).toBeTruthy()
    expect(confirmed.confirmed_at).toBeInstanceOf(Date)
    const emails = await outboxFor(row.email)
    expect(emails.map((email) => email.idempotency_key)).toEqual([`registration-confirmed/${row.id}`])
    expect(emails[0]!.props).toMatchObject({ amountPaidMinor: PRICE, currency: 'GBP' })
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
    // No donation was touched.
    const { rows } = await sql<{ n: number }>`select count(*)::bigint as n from donations`.execute(db)
    expect(rows[0]!.n).toBe(0)
  })

  test('an unpaid completion keeps the hold until the delayed payment succeeds', async () => {
    const event = await createPaidEvent(3)
    const { row } = await hold(event)
    await deliver(stripeEvent('checkout.session.completed', ticketSession(row, { paymentStatus: 'unpaid' })))
    expect((await registration(row.id)).status).toBe('held')
    await deliver(stripeEvent('checkout.session.async_payment_succeeded', ticketSession(row)))
    expect((await registration(row.id)).status).toBe('confirmed')
  })

  test('an expired session gives the places back and offers them to the first person waiting', async () => {
    const event = await createPaidEvent(1)
    const { row } = await hold(event)
    const waiting = registrationRequest(event)
    expect(await register(waiting)).toMatchObject({ kind: 'waitlisted' })
    await register(registrationRequest(event))
    const expired = stripeEvent('checkout.session.expired', ticketSession(row, { paymentStatus: 'unpaid', status: 'expired' }))
    expect(await deliver(expired)).toBe(200)
    expect(await deliver(expired)).toBe(200)
    expect((await registrationsOf(event.eventId)).map((r) => r.status)).toEqual(['expired', 'offered', 'waitlisted'])
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    expect((await outboxFor(waiting.email)).map((email) => email.template)).toEqual(['waitlist-joined', 'place-offered'])
    // The job at the hold's deadline then finds nothing left to release.
    expect(await releaseExpiredHold(db, row.id)).toBe(false)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
  })

  test('a payment after the hold ended, with a place still free, is confirmed', async () => {
    const event = await createPaidEvent(2)
    const { row } = await hold(event)
    expect(await releaseExpiredHold(db, row.id)).toBe(true)
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 0 })
    expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))).toBe(200)
    expect((await registration(row.id)).status).toBe('confirmed')
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 2 })
    expect((await outboxFor(row.email)).map((email) => email.template)).toEqual(['registration-confirmed'])
  })

  test('a payment after the hold ended, with the event full, is refunded in full and never oversells', async () => {
    const event = await createPaidEvent(1)
    const { row } = await hold(event, { quantity: 1 })
    await releaseExpiredHold(db, row.id)
    expect(await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }))).toMatchObject({ kind: 'confirmed' })

    const late = stripeEvent('checkout.session.completed', ticketSession(row))
    expect(await deliver(late)).toBe(200)
    expect(await deliver(stripeEvent('checkout.session.async_payment_succeeded', ticketSession(row)))).toBe(200)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    const refunded = await registration(row.id)
    expect(refunded).toMatchObject({ status: 'refunded', stripe_payment_intent_id: `pi_${row.id.slice(0, 8)}`, checkin_token: null })

    const emails = await outboxFor(row.email)
    expect(emails.map((email) => [email.template, email.idempotency_key])).toEqual([['registration-cancelled', `registration-refunded/${row.id}`]])
    expect(emails[0]!.props).toMatchObject({ refundMinor: PRICE, currency: 'GBP', reason: 'no-place-left' })
    const jobs = await jobsWithKey(`refund-registration:${row.id}`)
    expect(jobs.map((job) => job.task_identifier)).toEqual(['refund_registration'])

    await refundRegistration(db, row.id)
    const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.idempotencyKey === `registration-refund:${row.id}`)
    expect(refunds).toHaveLength(1)
    expect(refunds[0]!.form.get('payment_intent')).toBe(`pi_${row.id.slice(0, 8)}`)
    expect(refunds[0]!.form.get('amount')).toBe(String(PRICE))

    // Stripe then reports our refund: it is not a donation's, so nothing waits for one.
    const charge = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: PRICE, payment_intent: `pi_${row.id.slice(0, 8)}`, refunded: true, paid: true, status: 'succeeded' }
    expect(await deliver(stripeEvent('charge.refunded', charge))).toBe(200)
    const deferred = await db.selectFrom('deferred_stripe_events').select('event_id').where('payment_intent_id', '=', `pi_${row.id.slice(0, 8)}`).execute()
    expect(deferred).toHaveLength(0)
  })
})

test('offline (no Stripe key): the local page pays through the real webhook handler and leads to the manage page', async () => {
  delete process.env.STRIPE_SECRET_KEY
  delete process.env.STRIPE_WEBHOOK_SECRET
  resetEnvForTests()
  try {
    const event = await createPaidEvent(2)
    const request = registrationRequest(event)
    const outcome = await register(request)
    if (outcome.kind !== 'checkout') throw new Error(`expected checkout, got ${outcome.kind}`)
    const id = new URL(outcome.url).pathname.split('/').pop()!
    expect(outcome.url).toBe(`http://localhost:3000/dev/checkout/registration/${id}`)
    expect((await registration(id)).stripe_checkout_session_id).toBe(`cs_offline_registration_${id}`)

    const page = await checkoutLoader({ request: new Request(outcome.url), params: { id }, context: {} })
    expect(page.registration).toMatchObject({ total: '£15.00', payable: true })
    const post = (intent: string) => new Request(outcome.url, { method: 'POST', body: new URLSearchParams({ intent }) })
    const response = (await checkoutAction({ request: post('pay'), params: { id }, context: {} })) as Response
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(manageRegistrationUrl(id))

    expect(await registration(id)).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: `pi_offline_registration_${id}` })
    const events = await db.selectFrom('webhook_events').select('type').where('provider', '=', 'stripe').execute()
    expect(events.map((row) => row.type)).toContain('checkout.session.completed')
    expect((await outboxFor(request.email)).map((email) => email.template)).toEqual(['registration-confirmed'])
    // Offline no money moved, so a refund calls no one.
    const calls = stripeCalls.length
    expect(await refundPayment({ paymentIntentId: `pi_offline_registration_${id}`, amountMinor: PRICE, idempotencyKey: `registration-refund:${id}` })).toBeNull()
    expect(stripeCalls).toHaveLength(calls)
  } finally {
    useTestStripe()
  }
})
