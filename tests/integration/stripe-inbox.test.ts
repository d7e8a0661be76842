import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { applyDueStripeEvents, APPLY_STRIPE_EVENTS_TASK, purgeStripeInbox, stripeWakeSettled } from '#app/modules/payments/stripe-inbox.server.ts'
import { action as paymentEventsAction, loader as paymentEventsLoader } from '#app/routes/staff.payment-events.tsx'
import { loader as staffLayoutLoader } from '#app/routes/staff.tsx'
import { action as stripeWebhook } from '#app/routes/webhooks.stripe.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { emailTemplates } from '#emails/index.ts'
import { startAppWorker, type AppWorker } from '#app/worker/worker.server.ts'
import { completedSession, paidInvoice, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, applyStripeInbox, createAppeal, createPendingDonation, deliver, signedStripeRequest, useTestStripe } from './donation-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
beforeAll(() => useTestStripe())

/** Only what the webhook route does: no applier runs. */
async function receive(request: Request) {
  const response = await stripeWebhook({ request, params: {}, context: {} })
  await stripeWakeSettled()
  return response
}

async function inboxRow(eventId: string) {
  return db.selectFrom('stripe_inbox').selectAll().where('event_id', '=', eventId).executeTakeFirst()
}

async function donationStatus(donationId: string) {
  return (await db.selectFrom('donations').select('status').where('id', '=', donationId).executeTakeFirstOrThrow()).status
}

/** Makes applying fail (the receipt cannot be written) until the returned function is called. */
async function refuseReceipts() {
  await sql`create or replace function refuse_outbox() returns trigger language plpgsql as $$
    begin raise exception 'outbox unavailable'; end $$`.execute(db)
  await sql`create trigger refuse_outbox before insert on email_outbox for each row execute function refuse_outbox()`.execute(db)
  return async () => {
    await sql`drop trigger refuse_outbox on email_outbox`.execute(db)
  }
}

describe('receiving', () => {
  test('stores the event and answers 200 before anything is applied; the worker is woken; a repeat is one row', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 3_000 })
    const event = stripeEvent('checkout.session.completed', {
      ...completedSession({ donationId, amountMinor: 3_000 }),
      customer_details: { email: 'payer@example.org', name: 'Payer Name', address: { line1: '1 Payer Road', postal_code: 'N1 1AA' } },
    })
    await sql`select graphile_worker.remove_job(${APPLY_STRIPE_EVENTS_TASK})`.execute(db)

    const response = await receive(signedStripeRequest(event))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ message: 'Received' })
    expect(await inboxRow(event.id)).toMatchObject({ type: 'checkout.session.completed', state: 'pending', source: 'webhook', attempts: 0 })
    expect(await donationStatus(donationId)).toBe('pending')
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${APPLY_STRIPE_EVENTS_TASK}`.execute(db)
    expect(rows[0]!.n).toBe(1)
    // Who paid is not stored: the donation's details come from our own form.
    const stored = (await inboxRow(event.id))!.payload!
    for (const personal of ['payer@example.org', 'Payer Name', 'Payer Road', 'N1 1AA']) expect(stored).not.toContain(personal)
    expect(stored).toContain(donationId)

    const again = await receive(signedStripeRequest(event))
    expect(await again.json()).toEqual({ message: 'Already received' })
    expect(await applyStripeInbox()).toMatchObject({ applied: 1 })
    expect(await donationStatus(donationId)).toBe('confirmed')
    expect(await inboxRow(event.id)).toMatchObject({ state: 'applied', attempts: 1 })
    expect(await deliver(event)).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 3_000, donation_count: 1 })
  })

  test('a body over 1 MB is refused with 413 before it is read, declared or not, and nothing is written', async () => {
    const before = await db.selectFrom('stripe_inbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    const declared = new Request('http://localhost/webhooks/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024 + 1), 'stripe-signature': 't=1,v1=00' },
      body: '{}',
    })
    const refused = await receive(declared).catch((thrown: unknown) => thrown as Response)
    expect(refused.status).toBe(413)
    expect(await refused.json()).toEqual({ message: 'The request body is larger than 1 MB' })

    // Sent in chunks with no length: read up to the limit, then refused.
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1
        if (sent > 40) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const chunked = new Request('http://localhost/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': 't=1,v1=00' }, body: stream, duplex: 'half' } as RequestInit)
    const refusedChunked = await receive(chunked).catch((thrown: unknown) => thrown as Response)
    expect(refusedChunked.status).toBe(413)
    expect(sent).toBeLessThan(40)
    const after = await db.selectFrom('stripe_inbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
    expect(after.n).toBe(before.n)
  })
})

describe('applying', () => {
  test('a failure is retried later; after the last attempt the event is parked, shown to staff, and an administrator can try it again', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_000 }))
    expect((await receive(signedStripeRequest(event))).status).toBe(200)

    const allow = await refuseReceipts()
    try {
      expect(await applyDueStripeEvents(db, { maxAttempts: 2 })).toEqual({ applied: 0, retrying: 1, parked: 0 })
      const waiting = (await inboxRow(event.id))!
      expect(waiting).toMatchObject({ state: 'pending', attempts: 1 })
      // Not due yet: the next run leaves it alone.
      expect(await applyDueStripeEvents(db, { maxAttempts: 2 })).toEqual({ applied: 0, retrying: 0, parked: 0 })
      const delay = waiting.next_attempt_at.getTime() - Date.now()
      expect(delay).toBeGreaterThan(2_000)
      expect(delay).toBeLessThanOrEqual(5_000)

      await db.updateTable('stripe_inbox').set({ next_attempt_at: new Date() }).where('event_id', '=', event.id).execute()
      expect(await applyDueStripeEvents(db, { maxAttempts: 2 })).toEqual({ applied: 0, retrying: 0, parked: 1 })
    } finally {
      await allow()
    }
    expect(await inboxRow(event.id)).toMatchObject({ state: 'parked', attempts: 2 })
    expect(await donationStatus(donationId)).toBe('pending')

    const viewer = await createStaff('viewer')
    const staff = await createStaff('staff')
    const admin = await createStaff('admin')
    const staffCookie = await sessionCookieFor(staff.id)
    const adminCookie = await sessionCookieFor(admin.id)

    const layout = await settle(() => staffLayoutLoader({ request: getRequest('/staff', { cookie: staffCookie }), params: {}, context: {} }))
    expect((layout.body as { parkedPaymentEvents: number }).parkedPaymentEvents).toBeGreaterThanOrEqual(1)
    const viewerCookie = await sessionCookieFor(viewer.id)
    const viewerLayout = await settle(() => staffLayoutLoader({ request: getRequest('/staff', { cookie: viewerCookie }), params: {}, context: {} }))
    expect((viewerLayout.body as { parkedPaymentEvents: number }).parkedPaymentEvents).toBe(0)

    const page = await settle(() => paymentEventsLoader({ request: getRequest('/staff/payment-events', { cookie: staffCookie }), params: {}, context: {} }))
    const listed = (page.body as { events: Array<{ id: string; lastError: string; attempts: number }>; canRetry: boolean })
    expect(listed.canRetry).toBe(false)
    expect(listed.events).toEqual(expect.arrayContaining([expect.objectContaining({ id: event.id, attempts: 2, lastError: expect.stringContaining('outbox unavailable') })]))

    const byStaff = await settle(() => paymentEventsAction({ request: postRequest('/staff/payment-events', { intent: 'retry', eventId: event.id }, { cookie: staffCookie }), params: {}, context: {} }))
    expect(byStaff.status).toBe(403)
    const crossSite = await settle(() =>
      paymentEventsAction({ request: postRequest('/staff/payment-events', { intent: 'retry', eventId: event.id }, { cookie: adminCookie, headers: { Origin: 'https://evil.example' } }), params: {}, context: {} }),
    )
    expect(crossSite.status).toBe(403)
    const nonsense = await settle(() => paymentEventsAction({ request: postRequest('/staff/payment-events', { intent: 'retry', eventId: '<script>' }, { cookie: adminCookie }), params: {}, context: {} }))
    expect(nonsense.status).toBe(400)
    expect(await inboxRow(event.id)).toMatchObject({ state: 'parked' })

    const retried = await settle(() => paymentEventsAction({ request: postRequest('/staff/payment-events', { intent: 'retry', eventId: event.id }, { cookie: adminCookie }), params: {}, context: {} }))
    expect(retried.status).toBe(200)
    expect(await inboxRow(event.id)).toMatchObject({ state: 'pending', attempts: 0 })
    const audit = await db.selectFrom('audit_log').select(['action', 'details']).where('staff_user_id', '=', admin.id).execute()
    expect(audit).toEqual([{ action: 'stripe_event.retry', details: { eventIds: [event.id] } }])

    expect(await applyStripeInbox()).toMatchObject({ applied: 1, parked: 0 })
    expect(await donationStatus(donationId)).toBe('confirmed')
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_000 })
    const again = await settle(() => paymentEventsAction({ request: postRequest('/staff/payment-events', { intent: 'retry', eventId: event.id }, { cookie: adminCookie }), params: {}, context: {} }))
    expect(again.body).toEqual({ message: 'Nothing was waiting to be tried again: it may have been applied meanwhile.' })
  })

  test('an event we act on in a shape we do not read is parked at once, never acknowledged and forgotten: a malformed object, an invoice from an older API version', async () => {
    const malformed = stripeEvent('charge.refunded', { id: 'ch_shape', object: 'charge', payment_intent: 'pi_shape', amount: 'all of it', amount_refunded: 1 })
    // Before 2025-03-31: the subscription at the top level, no `parent`.
    const { parent: _parent, ...invoice } = paidInvoice({ id: 'in_old_shape', subscription: 'sub_old', amountPaidMinor: 1_000, billingReason: 'subscription_cycle' })
    const oldShape = stripeEvent('invoice.paid', { ...invoice, subscription: 'sub_old' })
    expect(await deliver(malformed)).toBe(200)
    expect(await deliver(oldShape)).toBe(200)
    expect(await inboxRow(malformed.id)).toMatchObject({ state: 'parked', attempts: 1, last_error: expect.stringContaining('amount: invalid_type') })
    expect(await inboxRow(oldShape.id)).toMatchObject({ state: 'parked', last_error: expect.stringContaining('subscription: an older API version') })
    // The error names fields, never values.
    expect((await inboxRow(malformed.id))!.last_error).not.toContain('all of it')
  })

  test('a claimed batch is applied in one transaction; an event in it that cannot apply leaves the others applied and is parked alone', async () => {
    const appeal = await createAppeal()
    const [first, second, third] = await Promise.all([3_000, 2_000, 1_000].map((amountMinor) => createPendingDonation({ appealId: appeal.id, amountMinor })))
    const together = [
      // The refund comes before its payment's completion: it waits, and the completion in the
      // same batch applies it.
      stripeEvent('charge.refunded', refundedCharge({ paymentIntent: `pi_${first!.donationId.slice(0, 8)}`, amountMinor: 3_000, amountRefundedMinor: 500 })),
      stripeEvent('checkout.session.completed', completedSession({ donationId: first!.donationId, amountMinor: 3_000 })),
      stripeEvent('checkout.session.completed', completedSession({ donationId: second!.donationId, amountMinor: 2_000 })),
      stripeEvent('customer.created', { id: 'cus_batch', object: 'customer' }),
    ]
    await sql`select graphile_worker.remove_job(${APPLY_STRIPE_EVENTS_TASK})`.execute(db)
    for (const event of together) expect((await receive(signedStripeRequest(event))).status).toBe(200)
    expect(await applyStripeInbox()).toEqual({ applied: 4, retrying: 0, parked: 0 })
    // Rows a transaction wrote carry its id (xmin): one for the whole claim, not one per event.
    const { rows } = await sql<{ transactions: number }>`
      select count(distinct xmin::text)::int as transactions from stripe_inbox where event_id in (${sql.join(together.map((event) => event.id))})`.execute(db)
    expect(rows[0]!.transactions).toBe(1)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 5_000, refunded_minor: 500 })
    // The batch's receipts, written together before its commit.
    const receiptKeys = [first!, second!].map((donation) => `donation-receipt/${donation.donationId}`)
    expect(await db.selectFrom('email_outbox').select('idempotency_key').where('idempotency_key', 'in', receiptKeys).execute()).toHaveLength(2)

    const malformed = stripeEvent('charge.refunded', { id: 'ch_batch_shape', object: 'charge', payment_intent: 'pi_batch_shape', amount: 'all', amount_refunded: 1 })
    const good = stripeEvent('checkout.session.completed', completedSession({ donationId: third!.donationId, amountMinor: 1_000 }))
    for (const event of [malformed, good]) expect((await receive(signedStripeRequest(event))).status).toBe(200)
    expect(await applyStripeInbox()).toEqual({ applied: 1, retrying: 0, parked: 1 })
    expect(await inboxRow(malformed.id)).toMatchObject({ state: 'parked', attempts: 1 })
    expect(await inboxRow(good.id)).toMatchObject({ state: 'applied', last_error: null })
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 6_000, refunded_minor: 500 })
  })

  test('types we do not act on are applied as nothing', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_unread', object: 'customer', email: 'someone@example.org' })
    expect(await deliver(event)).toBe(200)
    expect(await inboxRow(event.id)).toMatchObject({ state: 'applied', last_error: null })
  })

  test('the real worker applies a delivered event by itself, woken by the delivery', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_500 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 1_500 }))
    let worker: AppWorker | undefined
    try {
      worker = await startAppWorker()
      expect((await receive(signedStripeRequest(event))).status).toBe(200)
      const deadline = Date.now() + 20_000
      while ((await donationStatus(donationId)) !== 'confirmed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      await worker?.stop()
    }
    expect(await donationStatus(donationId)).toBe('confirmed')
    expect(await inboxRow(event.id)).toMatchObject({ state: 'applied' })
  })
  test("payments are applied at once while every general worker slot is busy sending receipts at Resend's rate", async () => {
    // A burst of gifts leaves many receipts to send at EMAIL_RATE_PER_SECOND; each send_email job
    // holds its slot while it waits for its turn. Here: 8 receipts at one per 2 s hold both slots
    // for about 14 s. The payment that arrives meanwhile must not wait behind them.
    process.env.EMAIL_RATE_PER_SECOND = '0.5'
    process.env.WORKER_CONCURRENCY = '2'
    resetEnvForTests()
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500 }))
    let worker: AppWorker | undefined
    let appliedAfterMs: number | undefined
    try {
      for (let index = 0; index < 8; index++) {
        await db.transaction().execute((trx) =>
          enqueueEmail(trx, {
            template: 'donation-receipt',
            to: `queued-${index}@example.org`,
            props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
            idempotencyKey: `busy-slots/${appeal.id}/${index}`,
          }),
        )
      }
      worker = await startAppWorker()
      // Both slots are taken by receipts before the payment arrives.
      const busy = Date.now() + 10_000
      for (;;) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'send_email' and locked_at is not null`.execute(db)
        if (rows[0]!.n >= 2 || Date.now() > busy) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const delivered = Date.now()
      expect((await receive(signedStripeRequest(event))).status).toBe(200)
      const deadline = delivered + 5_000
      while ((await donationStatus(donationId)) !== 'confirmed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      appliedAfterMs = Date.now() - delivered
    } finally {
      await worker?.stop()
      delete process.env.EMAIL_RATE_PER_SECOND
      delete process.env.WORKER_CONCURRENCY
      resetEnvForTests()
    }
    expect(await donationStatus(donationId), `still not applied ${appliedAfterMs} ms after delivery`).toBe('confirmed')
    expect(appliedAfterMs).toBeLessThan(5_000)
  }, 60_000)
})

describe('retention', () => {
  test('applied events keep their row (a repeat is still known) but lose their payload; waiting ones of unseen payments go', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 1_000 }))
    expect(await deliver(event)).toBe(200)
    const later = new Date(Date.now() + 31 * 24 * 60 * 60 * 1000)
    expect((await purgeStripeInbox(db, { waitingDays: 30, appliedDays: 30 })).forgotten).toBe(0)
    expect((await purgeStripeInbox(db, { waitingDays: 30, appliedDays: 30, now: later })).forgotten).toBeGreaterThanOrEqual(1)
    expect(await inboxRow(event.id)).toMatchObject({ state: 'applied', payload: null })
    const repeat = await receive(signedStripeRequest(event))
    expect(await repeat.json()).toEqual({ message: 'Already received' })
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 1_000, donation_count: 1 })
  })
})

afterAll(async () => {
  await stripeWakeSettled()
})
