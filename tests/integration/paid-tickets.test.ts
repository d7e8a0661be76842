import { sql } from 'kysely'
import { http, HttpResponse } from 'msw'
import { beforeAll, describe, expect, test } from 'vitest'
import { refundPayment } from '#app/modules/payments/stripe.server.ts'
import { cancelEvent } from '#app/modules/registrations/cancel-event.server.ts'
import { action as manageAction, loader as manageLoader } from '#app/routes/registrations.$id.tsx'
import { action as checkoutAction, loader as checkoutLoader } from '#app/routes/dev.checkout.registration.$id.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { renderEmail } from '#emails/index.ts'
import { server } from '#tests/mocks/node.ts'
import { recordStripeCall, STRIPE_API, stripeCalls, stripeEvent } from '#tests/mocks/stripe.ts'
import { deliver, outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createEvent, placesTaken, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'
import { releaseExpiredHold } from '#app/modules/registrations/holds.server.ts'
import { refundRegistration } from '#app/modules/registrations/paid-tickets.server.ts'
import { cancelRegistration } from '#app/modules/registrations/self-service.server.ts'
import { claimOffer } from '#app/modules/registrations/waitlist-claim.server.ts'

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
      // Nothing is charged to wait; the price is kept for when a place is offered.
      ['waitlisted', PRICE, null],
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
    const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.idempotencyKey?.startsWith(`registration-refund:${row.id}:`))
    expect(refunds).toHaveLength(1)
    expect(refunds[0]!.form.get('payment_intent')).toBe(`pi_${row.id.slice(0, 8)}`)
    expect(refunds[0]!.form.get('amount')).toBe(String(PRICE))

    // Stripe then reports our refund: it is not a donation's, so nothing waits for one.
    const charge = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: PRICE, payment_intent: `pi_${row.id.slice(0, 8)}`, refunded: true, paid: true, status: 'succeeded' }
    expect(await deliver(stripeEvent('charge.refunded', charge))).toBe(200)
    expect((await outboxFor(row.email)).map((email) => email.template)).toEqual(['registration-cancelled'])
    const deferred = await db.selectFrom('stripe_inbox').select('event_id').where('state', '=', 'waiting').where('waits_for', '=', `pi_${row.id.slice(0, 8)}`).execute()
    expect(deferred).toHaveLength(0)
  })

  test('a late payment on a full event that staff already refunded in Stripe: our refund asks only for what is left, or nothing', async () => {
    for (const [refundedInStripe, askedFor] of [
      [PRICE, null],
      [PRICE - 300, 300],
    ] as const) {
      const event = await createPaidEvent(1)
      const { row } = await hold(event, { quantity: 1 })
      await releaseExpiredHold(db, row.id)
      expect(await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }))).toMatchObject({ kind: 'confirmed' })

      // The dashboard's refund is reported before the payment reaches us, so it waits for it.
      const charge = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: refundedInStripe, payment_intent: `pi_${row.id.slice(0, 8)}`, refunded: refundedInStripe === PRICE, paid: true, status: 'succeeded' }
      expect(await deliver(stripeEvent('charge.refunded', charge))).toBe(200)
      expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))).toBe(200)
      expect(await registration(row.id)).toMatchObject({ status: 'refunded', refunded_minor: refundedInStripe })
      expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })

      await refundRegistration(db, row.id)
      const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.form.get('payment_intent') === `pi_${row.id.slice(0, 8)}`)
      expect(refunds.map((call) => call.form.get('amount'))).toEqual(askedFor === null ? [] : [String(askedFor)])
    }
  })

  test('a Dashboard refund reported only after our refund job failed: the next attempt asks for what is left, under its own key', async () => {
    const event = await createPaidEvent(1)
    const { row } = await hold(event, { quantity: 1 })
    await releaseExpiredHold(db, row.id)
    expect(await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }))).toMatchObject({ kind: 'confirmed' })
    expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))).toBe(200)
    expect(await registration(row.id)).toMatchObject({ status: 'refunded', refunded_minor: 0 })

    // Staff refunded 1,200 in the Dashboard a moment ago, so Stripe refuses the full amount.
    const paymentIntent = `pi_${row.id.slice(0, 8)}`
    let refundedInStripe = 1_200
    server.use(
      http.post(`${STRIPE_API}/v1/refunds`, async ({ request }) => {
        const form = new URLSearchParams(await request.clone().text())
        if (form.get('payment_intent') !== paymentIntent) return undefined
        await recordStripeCall(request)
        const amount = Number(form.get('amount'))
        if (amount > PRICE - refundedInStripe) {
          return HttpResponse.json({ error: { type: 'invalid_request_error', code: 'amount_too_large', message: 'Refund amount is greater than unrefunded amount on charge' } }, { status: 400 })
        }
        refundedInStripe += amount
        return HttpResponse.json({ id: `re_${row.id.slice(0, 8)}`, object: 'refund', amount, payment_intent: paymentIntent, status: 'succeeded' })
      }),
    )
    await expect(refundRegistration(db, row.id)).rejects.toThrow(/greater than unrefunded/)

    // Then the Dashboard's refund is reported, and the job tries again.
    const charge = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: 1_200, payment_intent: paymentIntent, refunded: false, paid: true, status: 'succeeded' }
    expect(await deliver(stripeEvent('charge.refunded', charge))).toBe(200)
    await refundRegistration(db, row.id)
    const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.form.get('payment_intent') === paymentIntent)
    expect(refunds.map((call) => [call.form.get('amount'), call.idempotencyKey])).toEqual([
      [String(PRICE), `registration-refund:${row.id}:${PRICE}`],
      ['300', `registration-refund:${row.id}:300`],
    ])
    expect(refundedInStripe).toBe(PRICE)
  })
})

/**
 * A paid event whose one place is taken by a free registration, with people waiting for paid
 * tickets behind it; cancelling the free one offers its place to the first of them.
 */
async function offeredPaidPlace(options: { waiting?: number; pwycPriceMinor?: number } = {}) {
  const event = await createPaidEvent(1)
  let ticketTypeId = event.ticketTypeId
  if (options.pwycPriceMinor !== undefined) {
    ticketTypeId = (
      await db
        .insertInto('ticket_types')
        .values({ event_id: event.eventId, name: 'Pay what you can', kind: 'pay_what_you_can', min_price_minor: 300, currency: 'GBP' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  }
  const first = await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }))
  if (first.kind !== 'confirmed') throw new Error(`expected confirmed, got ${first.kind}`)
  const waiting = []
  for (let i = 0; i < (options.waiting ?? 1); i++) {
    const request = registrationRequest(event, { ticketTypeId, chosenPriceMinor: options.pwycPriceMinor ?? null })
    const outcome = await register(request)
    if (outcome.kind !== 'waitlisted') throw new Error(`expected waitlisted, got ${outcome.kind}`)
    waiting.push({ request, registrationId: outcome.registrationId })
  }
  expect(await cancelRegistration(db, first.registrationId)).toBe('cancelled')
  expect((await registration(waiting[0]!.registrationId)).status).toBe('offered')
  return { event, waiting }
}

const ORIGIN = { origin: 'http://localhost:3000' }

describe('claiming an offered paid place', () => {
  test('goes through Checkout like a new paid registration, keeps the place meanwhile, and is confirmed by the webhook', async () => {
    const { event, waiting } = await offeredPaidPlace()
    const id = waiting[0]!.registrationId
    const before = Date.now()
    const claimed = await claimOffer(db, id, ORIGIN)
    expect(claimed).toMatchObject({ outcome: 'checkout', url: expect.stringMatching(/^https:\/\/checkout\.stripe\.com\//) })
    const held = await registration(id)
    expect(held).toMatchObject({ status: 'held', amount_minor: PRICE, checkin_token: null, confirmed_at: null })
    expect(held.stripe_checkout_session_id).toMatch(/^cs_test_/)
    const holdMs = held.hold_expires_at!.getTime() - before
    expect(holdMs).toBeGreaterThanOrEqual(30 * 60 * 1000)
    expect(holdMs).toBeLessThan(35 * 60 * 1000)
    // The offer's place stays this person's: nothing was released or taken twice.
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })

    const [call, ...others] = sessionCalls(id)
    expect(others).toHaveLength(0)
    expect(call!.form.get('line_items[0][price_data][unit_amount]')).toBe(String(PRICE))
    expect(call!.form.get('expires_at')).toBe(String(Math.ceil(held.hold_expires_at!.getTime() / 1000)))
    expect(call!.form.get('metadata[registration_id]')).toBe(id)
    const [job] = await jobsWithKey(`release-hold:${id}`)
    expect(job!.run_at.getTime()).toBe(held.hold_expires_at!.getTime())
    // No confirmation before the payment.
    expect((await outboxFor(held.email)).map((email) => email.template)).toEqual(['waitlist-joined', 'place-offered'])

    // Claiming again (a double click, or back from Checkout) returns to the same session.
    expect(await claimOffer(db, id, ORIGIN)).toEqual(claimed)
    expect(new Set(sessionCalls(id).map((c) => c.idempotencyKey))).toEqual(new Set([`registration-checkout:${id}`]))

    expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(held)))).toBe(200)
    const confirmed = await registration(id)
    expect(confirmed).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: `pi_${id.slice(0, 8)}` })
    expect(confirmed.checkin_token).toBeTruthy()
    expect((await outboxFor(held.email)).map((email) => email.idempotency_key)).toContain(`registration-confirmed/${id}`)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    // The hold's deadline then finds nothing to release, and the offer's deadline nothing to lapse.
    expect(await releaseExpiredHold(db, id)).toBe(false)
    expect(await claimOffer(db, id, ORIGIN)).toEqual({ outcome: 'not-offered' })
  })

  test('a pay-what-you-can place costs what the person chose when they joined the waitlist', async () => {
    const { waiting } = await offeredPaidPlace({ pwycPriceMinor: 700 })
    const id = waiting[0]!.registrationId
    expect(await claimOffer(db, id, ORIGIN)).toMatchObject({ outcome: 'checkout' })
    expect(await registration(id)).toMatchObject({ status: 'held', amount_minor: 700 })
    expect(sessionCalls(id)[0]!.form.get('line_items[0][price_data][unit_amount]')).toBe('700')
  })

  test('a claim checkout that expires unpaid passes the place to the next person waiting', async () => {
    const { event, waiting } = await offeredPaidPlace({ waiting: 2 })
    const [claimer, next] = waiting
    expect(await claimOffer(db, claimer!.registrationId, ORIGIN)).toMatchObject({ outcome: 'checkout' })
    const held = await registration(claimer!.registrationId)
    const expired = stripeEvent('checkout.session.expired', ticketSession(held, { paymentStatus: 'unpaid', status: 'expired' }))
    expect(await deliver(expired)).toBe(200)
    expect((await registration(claimer!.registrationId)).status).toBe('expired')
    expect((await registration(next!.registrationId)).status).toBe('offered')
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    expect((await outboxFor(next!.request.email)).map((email) => email.template)).toEqual(['waitlist-joined', 'place-offered'])
    expect(await releaseExpiredHold(db, claimer!.registrationId)).toBe(false)
    expect(await claimOffer(db, claimer!.registrationId, ORIGIN)).toEqual({ outcome: 'not-offered' })
  })

  test('the hold deadline, without any webhook, passes the place on too', async () => {
    const { event, waiting } = await offeredPaidPlace({ waiting: 2 })
    expect(await claimOffer(db, waiting[0]!.registrationId, ORIGIN)).toMatchObject({ outcome: 'checkout' })
    expect(await releaseExpiredHold(db, waiting[0]!.registrationId)).toBe(true)
    expect((await registration(waiting[1]!.registrationId)).status).toBe('offered')
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
  })

  test('when Stripe cannot be reached the place stays offered to the person, and trying again works', async () => {
    const { event, waiting } = await offeredPaidPlace({ waiting: 2 })
    const id = waiting[0]!.registrationId
    const offerDeadline = (await registration(id)).offer_expires_at
    let failing = true
    server.use(
      http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request }) => {
        if (!failing) return undefined
        await recordStripeCall(request)
        return HttpResponse.json({ error: { type: 'api_error', message: 'Stripe is down' } }, { status: 500 })
      }),
    )
    expect(await claimOffer(db, id, ORIGIN)).toMatchObject({ outcome: 'unavailable', message: expect.stringContaining('still offered to you') })
    expect(await registration(id)).toMatchObject({ status: 'offered', offer_expires_at: offerDeadline, hold_expires_at: null })
    expect((await registration(waiting[1]!.registrationId)).status).toBe('waitlisted')
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    // The release job left behind finds no hold.
    expect(await releaseExpiredHold(db, id)).toBe(false)
    failing = false
    expect(await claimOffer(db, id, ORIGIN)).toMatchObject({ outcome: 'checkout' })
    expect((await registration(id)).status).toBe('held')
  })

  test('the manage page sends the person to Checkout with a 303', async () => {
    const { waiting } = await offeredPaidPlace()
    const id = waiting[0]!.registrationId
    const url = new URL(manageRegistrationUrl(id))
    const body = new URLSearchParams({ signature: url.searchParams.get('signature')!, intent: 'claim' })
    const response = await manageAction({ request: new Request(url, { method: 'POST', body }), params: { id }, context: {} })
    expect(response).toBeInstanceOf(Response)
    expect((response as Response).status).toBe(303)
    expect((response as Response).headers.get('location')).toMatch(/^https:\/\/checkout\.stripe\.com\//)
  })
})

describe('a refund of a ticket in Stripe', () => {
  function refund(row: { id: string }, amountRefunded = PRICE) {
    const pi = `pi_${row.id.slice(0, 8)}`
    return stripeEvent('charge.refunded', {
      id: `ch_${row.id.slice(0, 8)}`,
      object: 'charge',
      amount: PRICE,
      amount_refunded: amountRefunded,
      payment_intent: pi,
      refunded: amountRefunded >= PRICE,
      paid: true,
      status: 'succeeded',
    })
  }

  async function heldWithSomeoneWaiting() {
    const event = await createPaidEvent(1)
    const { row } = await hold(event)
    const waiting = registrationRequest(event)
    expect(await register(waiting)).toMatchObject({ kind: 'waitlisted' })
    return { event, row, waiting }
  }

  async function deferredFor(row: { id: string }) {
    return db.selectFrom('stripe_inbox').select('event_id').where('state', '=', 'waiting').where('waits_for', '=', `pi_${row.id.slice(0, 8)}`).execute()
  }

  test('after the payment: a full refund ends the place and offers it to the next person', async () => {
    const { event, row, waiting } = await heldWithSomeoneWaiting()
    expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))).toBe(200)
    expect(await deliver(refund(row))).toBe(200)
    expect(await registration(row.id)).toMatchObject({ status: 'refunded', cancelled_at: expect.any(Date) })
    expect((await registrationsOf(event.eventId)).map((r) => r.status)).toEqual(['refunded', 'offered'])
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    expect((await outboxFor(waiting.email)).map((email) => email.template)).toEqual(['waitlist-joined', 'place-offered'])
    expect(await deferredFor(row)).toHaveLength(0)
    // Stripe did the refund: no refund job of ours is queued.
    expect(await jobsWithKey(`refund-registration:${row.id}`)).toHaveLength(0)
  })

  test('before the payment: the refund waits, and is applied once, when the completed session arrives', async () => {
    const { event, row, waiting } = await heldWithSomeoneWaiting()
    const refunded = refund(row)
    expect(await deliver(refunded)).toBe(200)
    expect((await registration(row.id)).status).toBe('held')
    expect(await deferredFor(row)).toHaveLength(1)

    const completed = stripeEvent('checkout.session.completed', ticketSession(row))
    expect(await deliver(completed)).toBe(200)
    expect(await registration(row.id)).toMatchObject({ status: 'refunded', stripe_payment_intent_id: `pi_${row.id.slice(0, 8)}` })
    expect((await registrationsOf(event.eventId)).map((r) => r.status)).toEqual(['refunded', 'offered'])
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    expect(await deferredFor(row)).toHaveLength(0)

    // Either event again changes nothing: the place is not given back, nor offered twice.
    expect(await deliver(completed)).toBe(200)
    expect(await deliver(refunded)).toBe(200)
    expect(await deliver(stripeEvent('checkout.session.async_payment_succeeded', ticketSession(row)))).toBe(200)
    expect((await registrationsOf(event.eventId)).map((r) => r.status)).toEqual(['refunded', 'offered'])
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    expect((await outboxFor(waiting.email)).filter((email) => email.template === 'place-offered')).toHaveLength(1)
  })

  test('a partial refund keeps the place, in either order', async () => {
    const first = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(first.row)))
    await deliver(refund(first.row, 500))
    expect((await registration(first.row.id)).status).toBe('confirmed')

    const second = await heldWithSomeoneWaiting()
    await deliver(refund(second.row, 500))
    await deliver(stripeEvent('checkout.session.completed', ticketSession(second.row)))
    expect((await registration(second.row.id)).status).toBe('confirmed')
    expect(await deferredFor(second.row)).toHaveLength(0)
    expect(await placesTaken(second.event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
  })

  async function refundEmails(row: { email: string }) {
    return (await outboxFor(row.email)).filter((email) => email.template === 'registration-refunded')
  }

  test('a full refund made in Stripe tells the person once: how much, to their card, and that the place is released', async () => {
    await db
      .insertInto('organisation')
      .values({ id: 1, name: 'Sanad Justice Project', short_name: 'Sanad', vision: 'v', mission: 'm', contact_email: 'hello@example.org' })
      .onConflict((oc) => oc.column('id').doUpdateSet({ contact_email: 'hello@example.org' }))
      .execute()
    const { row } = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))
    const refunded = refund(row)
    expect(await deliver(refunded)).toBe(200)
    expect(await deliver(refunded)).toBe(200)

    expect((await outboxFor(row.email)).map((email) => email.template)).toEqual(['registration-confirmed', 'registration-refunded'])
    const [email] = await refundEmails(row)
    expect(email!.idempotency_key).toBe(`registration-refunded:${row.id}:${PRICE}`)
    expect(email!.props).toMatchObject({ refundMinor: PRICE, totalRefundedMinor: PRICE, currency: 'GBP', placeReleased: true, manageUrl: manageRegistrationUrl(row.id) })
    const { subject, text } = await renderEmail('registration-refunded', email!.props)
    expect(subject).toContain('£15.00 refunded')
    expect(text).toContain('the card you paid with')
    expect(text).toContain('your place has been released')
    expect(text).not.toContain('still booked')
    expect(text).toContain(manageRegistrationUrl(row.id))
    expect(text).toContain('hello@example.org')
  })

  test('a partial refund, then the rest: two emails with their own amounts, however often or late each event comes', async () => {
    const { row } = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))
    const partial = refund(row, 500)
    expect(await deliver(partial)).toBe(200)
    expect(await deliver(partial)).toBe(200)
    // Stripe may describe the same refund in another event (a retry under a new id): still one email.
    expect(await deliver(refund(row, 500))).toBe(200)
    expect((await registration(row.id)).status).toBe('confirmed')

    const rest = refund(row)
    expect(await deliver(rest)).toBe(200)
    expect(await deliver(rest)).toBe(200)
    // The partial refund's news arriving after the full one's tells nothing more.
    expect(await deliver(refund(row, 500))).toBe(200)
    expect((await registration(row.id)).status).toBe('refunded')

    const emails = await refundEmails(row)
    expect(emails.map((email) => email.idempotency_key)).toEqual([`registration-refunded:${row.id}:500`, `registration-refunded:${row.id}:${PRICE}`])
    expect(emails[0]!.props).toMatchObject({ refundMinor: 500, totalRefundedMinor: 500, placeReleased: false })
    expect(emails[1]!.props).toMatchObject({ refundMinor: PRICE - 500, totalRefundedMinor: PRICE, placeReleased: true })
    const first = await renderEmail('registration-refunded', emails[0]!.props)
    expect(first.text).toContain('£5.00')
    expect(first.text).toContain('your place is still booked')
    const second = await renderEmail('registration-refunded', emails[1]!.props)
    expect(second.subject).toContain('£10.00 refunded')
    expect(second.text).toMatch(/Refunded in all\s+£15\.00/)
    expect(second.text).toContain('your place has been released')
  })

  test('two partial refunds whose events arrive in reverse order: one email for both, with the total', async () => {
    const { row } = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))
    expect(await deliver(refund(row, 900))).toBe(200)
    expect(await deliver(refund(row, 400))).toBe(200)
    const emails = await refundEmails(row)
    expect(emails.map((email) => email.props)).toEqual([expect.objectContaining({ refundMinor: 900, totalRefundedMinor: 900, placeReleased: false })])

    // A later, third refund is told as what it added.
    expect(await deliver(refund(row, 1_200))).toBe(200)
    expect((await refundEmails(row)).map((email) => email.props.refundMinor)).toEqual([900, 300])
  })

  test("our own refunds (the person cancelled, the event was cancelled) send their own email and no refund email", async () => {
    const own = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(own.row)))
    expect(await cancelRegistration(db, own.row.id)).toBe('cancelled')
    expect(await deliver(refund(own.row))).toBe(200)
    expect((await outboxFor(own.row.email)).map((email) => email.template)).toEqual(['registration-confirmed', 'registration-cancelled'])

    const staff = await heldWithSomeoneWaiting()
    await deliver(stripeEvent('checkout.session.completed', ticketSession(staff.row)))
    expect(await cancelEvent(db, staff.event.eventId, { message: null, staffUserId: null })).toMatchObject({ refunded: 1 })
    await refundRegistration(db, staff.row.id)
    expect(await deliver(refund(staff.row))).toBe(200)
    expect((await outboxFor(staff.row.email)).map((email) => email.template)).toEqual(['registration-confirmed', 'event-cancelled'])
  })
})

describe('the holder cancelling a paid place', () => {
  async function confirmedPlace() {
    const event = await createPaidEvent(3)
    const { row } = await hold(event)
    expect(await deliver(stripeEvent('checkout.session.completed', ticketSession(row)))).toBe(200)
    return { event, row }
  }

  async function pageSays(id: string) {
    const url = new URL(manageRegistrationUrl(id))
    const page = await manageLoader({ request: new Request(url), params: { id }, context: {} })
    return page.registration.cancellation
  }

  test('more than the refund window before the event: refunded in full by a job, and the email says so', async () => {
    const { row } = await confirmedPlace()
    // The page says it before the person decides.
    expect(await pageSays(row.id)).toEqual({ refund: '£15.00', daysBefore: 7 })
    expect(await cancelRegistration(db, row.id)).toBe('cancelled')
    const cancelled = (await outboxFor(row.email)).find((email) => email.template === 'registration-cancelled')!
    expect(cancelled.props).toMatchObject({ refundMinor: PRICE, notRefundedWithinDays: null })
    const { rows: jobs } = await sql<{ payload: { registrationId: string; amountMinor: number } }>`
      select payload from graphile_worker._private_jobs where key = ${`refund-registration:${row.id}`}`.execute(db)
    expect(jobs.map((job) => job.payload)).toEqual([{ registrationId: row.id, amountMinor: PRICE }])

    // As the worker runs it, twice: one refund at Stripe (one key).
    await refundRegistration(db, row.id, { amountMinor: PRICE })
    await refundRegistration(db, row.id, { amountMinor: PRICE })
    const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.idempotencyKey?.startsWith(`registration-refund:${row.id}:`))
    expect(refunds.map((call) => call.form.get('amount'))).toEqual([String(PRICE), String(PRICE)])
    // Stripe's report of our own refund sends nothing more.
    const charge = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: PRICE, payment_intent: `pi_${row.id.slice(0, 8)}`, refunded: true }
    expect(await deliver(stripeEvent('charge.refunded', charge))).toBe(200)
    expect((await outboxFor(row.email)).map((email) => email.template)).toEqual(['registration-confirmed', 'registration-cancelled'])
  })

  test('inside the refund window: no refund, and the email says why', async () => {
    const { event, row } = await confirmedPlace()
    await db.updateTable('events').set({ starts_at: new Date(Date.now() + 2 * 24 * 60 * 60 * 1000) }).where('id', '=', event.eventId).execute()
    expect(await pageSays(row.id)).toEqual({ refund: null, daysBefore: 7 })
    expect(await cancelRegistration(db, row.id)).toBe('cancelled')
    const cancelled = (await outboxFor(row.email)).find((email) => email.template === 'registration-cancelled')!
    expect(cancelled.props).toMatchObject({ refundMinor: 0, notRefundedWithinDays: 7 })
    expect(await jobsWithKey(`refund-registration:${row.id}`)).toEqual([])
    expect(await refundRegistration(db, row.id)).toBeNull()
    expect(stripeCalls.filter((call) => call.path === '/v1/refunds' && call.idempotencyKey?.startsWith(`registration-refund:${row.id}:`))).toEqual([])
  })

  test('after a partial refund in Stripe, cancelling refunds only what is left', async () => {
    const { row } = await confirmedPlace()
    const partial = { id: `ch_${row.id.slice(0, 8)}`, object: 'charge', amount: PRICE, amount_refunded: 500, payment_intent: `pi_${row.id.slice(0, 8)}`, refunded: false }
    expect(await deliver(stripeEvent('charge.refunded', partial))).toBe(200)
    expect(await cancelRegistration(db, row.id)).toBe('cancelled')
    const { rows: jobs } = await sql<{ payload: { amountMinor: number } }>`
      select payload from graphile_worker._private_jobs where key = ${`refund-registration:${row.id}`}`.execute(db)
    expect(jobs[0]!.payload.amountMinor).toBe(PRICE - 500)
    await refundRegistration(db, row.id, jobs[0]!.payload)
    const refunds = stripeCalls.filter((call) => call.path === '/v1/refunds' && call.idempotencyKey?.startsWith(`registration-refund:${row.id}:`))
    expect(refunds.map((call) => call.form.get('amount'))).toEqual([String(PRICE - 500)])
  })
})

test('offline (no Stripe key): the local page pays through the real webhook handler and leads back to the checkout return page', async () => {
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
    // Back where Stripe would send the person: the session's id only, no signed link (docs/decisions/021).
    expect(response.headers.get('location')).toBe(`/registrations/checkout?session_id=cs_offline_registration_${id}`)

    expect(await registration(id)).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: `pi_offline_registration_${id}` })
    const events = await db.selectFrom('stripe_inbox').select('type').where('source', '=', 'offline').where('state', '=', 'applied').execute()
    expect(events.map((row) => row.type)).toContain('checkout.session.completed')
    expect((await outboxFor(request.email)).map((email) => email.template)).toEqual(['registration-confirmed'])
    // Offline no money moved, so a refund calls no one.
    const calls = stripeCalls.length
    expect(await refundPayment({ paymentIntentId: `pi_offline_registration_${id}`, amountMinor: PRICE, idempotencyKey: `registration-refund:${id}:${PRICE}` })).toBeNull()
    expect(stripeCalls).toHaveLength(calls)
  } finally {
    useTestStripe()
  }
})

test('offline (no Stripe key): claiming an offered paid place goes to the local checkout page, which confirms it', async () => {
  const { waiting } = await offeredPaidPlace()
  const id = waiting[0]!.registrationId
  delete process.env.STRIPE_SECRET_KEY
  delete process.env.STRIPE_WEBHOOK_SECRET
  resetEnvForTests()
  try {
    const claimed = await claimOffer(db, id, ORIGIN)
    expect(claimed).toEqual({ outcome: 'checkout', url: `http://localhost:3000/dev/checkout/registration/${id}` })
    expect(await registration(id)).toMatchObject({ status: 'held', stripe_checkout_session_id: `cs_offline_registration_${id}` })
    const post = new Request(`http://localhost:3000/dev/checkout/registration/${id}`, { method: 'POST', body: new URLSearchParams({ intent: 'pay' }) })
    const response = (await checkoutAction({ request: post, params: { id }, context: {} })) as Response
    expect(response.status).toBe(303)
    expect(await registration(id)).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: `pi_offline_registration_${id}` })
  } finally {
    useTestStripe()
  }
})
