import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, dispute, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import {
  appealTotals,
  createAppeal,
  createPendingDonation,
  deliver,
  ledgerTotals,
  outboxFor,
  useTestStripe,
  applyStripeInbox,
} from './donation-fixtures.ts'

const db = getDb()

beforeAll(() => useTestStripe())

async function donationRow(id: string) {
  return db.selectFrom('donations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function webhookEventCount() {
  const { rows } = await sql<{ n: number }>`select count(*)::bigint as n from stripe_inbox`.execute(db)
  return rows[0]!.n
}

describe('checkout.session.completed', () => {
  test('a paid session confirms the donation, adds it to the ledger and totals, and queues one receipt', async () => {
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
    const status = await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500 })))
    expect(status).toBe(200)
    const donation = await donationRow(donationId)
    expect(donation.status).toBe('confirmed')
    expect(donation.stripe_payment_intent_id).toBe(`pi_${donationId.slice(0, 8)}`)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_500, donation_count: 1, donor_count: 1 })
    const receipts = await outboxFor(email)
    expect(receipts.map((row) => row.idempotency_key)).toEqual([`donation-receipt/${donationId}`])
  })

  test('the same event twice, one after the other and at the same moment, is applied once', async () => {
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 1_000 }))
    expect(await deliver(event)).toBe(200)
    expect(await deliver(event)).toBe(200)

    const other = await createPendingDonation({ appealId: appeal.id, amountMinor: 3_000 })
    const concurrent = stripeEvent('checkout.session.completed', completedSession({ donationId: other.donationId, amountMinor: 3_000 }))
    expect(await Promise.all([deliver(concurrent), deliver(concurrent), deliver(concurrent)])).toEqual([200, 200, 200])

    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 4_000, donation_count: 2 })
    expect(await outboxFor(email)).toHaveLength(1)
    expect(await outboxFor(other.email)).toHaveLength(1)
    const entries = await db.selectFrom('ledger_entries').select('id').where('appeal_id', '=', appeal.id).execute()
    expect(entries).toHaveLength(2)
  })

  test('completed then async_payment_succeeded for one session confirm it once', async () => {
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_500 })
    const session = completedSession({ donationId, amountMinor: 1_500 })
    expect(await deliver(stripeEvent('checkout.session.completed', session))).toBe(200)
    expect(await deliver(stripeEvent('checkout.session.async_payment_succeeded', session))).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 1_500, donation_count: 1 })
    expect(await outboxFor(email)).toHaveLength(1)
  })

  test('an unpaid session is processing until the delayed payment succeeds; a late expiry changes nothing', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    const unpaid = completedSession({ donationId, amountMinor: 2_000, paymentStatus: 'unpaid' })
    await deliver(stripeEvent('checkout.session.completed', unpaid))
    expect((await donationRow(donationId)).status).toBe('processing')
    expect((await appealTotals(appeal.id)).confirmed_gross_minor).toBe(0)
    await deliver(stripeEvent('checkout.session.async_payment_succeeded', { ...unpaid, payment_status: 'paid' }))
    expect((await donationRow(donationId)).status).toBe('confirmed')
    await deliver(stripeEvent('checkout.session.expired', unpaid))
    await deliver(stripeEvent('checkout.session.async_payment_failed', unpaid))
    expect((await donationRow(donationId)).status).toBe('confirmed')
  })

  test('a failed delayed payment fails the donation; an expired session abandons a pending one', async () => {
    const appeal = await createAppeal()
    const failed = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    const session = completedSession({ donationId: failed.donationId, amountMinor: 2_000, paymentStatus: 'unpaid' })
    await deliver(stripeEvent('checkout.session.completed', session))
    await deliver(stripeEvent('checkout.session.async_payment_failed', session))
    expect((await donationRow(failed.donationId)).status).toBe('failed')

    const abandoned = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    await deliver(stripeEvent('checkout.session.expired', completedSession({ donationId: abandoned.donationId, amountMinor: 2_000, paymentStatus: 'unpaid' })))
    expect((await donationRow(abandoned.donationId)).status).toBe('abandoned')
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 0, donation_count: 0 })
  })

  test('unknown event types are acknowledged and change nothing', async () => {
    const before = await webhookEventCount()
    expect(await deliver(stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }))).toBe(200)
    expect(await webhookEventCount()).toBe(before + 1)
  })
})

describe('signatures', () => {
  test('a bad signature, a tampered body or an old timestamp get 400 and write nothing', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500 }))
    const tampered = { ...event, data: { object: completedSession({ donationId, amountMinor: 9_999_999 }) } }
    const before = await webhookEventCount()
    expect(await deliver(event, { secret: 'whsec_not_our_secret' })).toBe(400)
    expect(await deliver(event, { body: JSON.stringify(tampered) })).toBe(400)
    expect(await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 })).toBe(400)
    expect(await webhookEventCount()).toBe(before)
    expect((await donationRow(donationId)).status).toBe('pending')
    const unsigned = await (await import('#app/routes/webhooks.stripe.ts')).action({
      request: new Request('http://localhost/webhooks/stripe', { method: 'POST', body: JSON.stringify(event) }),
      params: {},
      context: {},
    })
    expect(unsigned.status).toBe(400)
  })
})

describe('a crash in the middle of applying an event', () => {
  test('rolls everything back and keeps the event for a retry, which applies it once', async () => {
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 4_200 })
    const event = stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 4_200 }))
    // The database refuses the receipt, which is written after the ledger entry and the totals.
    await sql`create or replace function refuse_outbox() returns trigger language plpgsql as $$
      begin raise exception 'outbox unavailable'; end $$`.execute(db)
    await sql`create trigger refuse_outbox before insert on email_outbox for each row execute function refuse_outbox()`.execute(db)
    try {
      // Stripe hears 200 as soon as the event is stored: applying it is the worker's business.
      expect(await deliver(event)).toBe(200)
    } finally {
      await sql`drop trigger refuse_outbox on email_outbox`.execute(db)
    }
    expect((await donationRow(donationId)).status).toBe('pending')
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 0, donation_count: 0 })
    expect(await db.selectFrom('ledger_entries').select('id').where('donation_id', '=', donationId).execute()).toEqual([])
    const kept = await db.selectFrom('stripe_inbox').selectAll().where('event_id', '=', event.id).executeTakeFirstOrThrow()
    expect(kept).toMatchObject({ state: 'pending', attempts: 1 })
    expect(kept.last_error).toContain('outbox unavailable')
    expect(kept.next_attempt_at.getTime()).toBeGreaterThan(Date.now())

    // Stripe delivering it again changes nothing: it is already in the inbox, waiting for its retry.
    expect(await deliver(event)).toBe(200)
    expect((await donationRow(donationId)).status).toBe('pending')

    await db.updateTable('stripe_inbox').set({ next_attempt_at: new Date() }).where('event_id', '=', event.id).execute()
    expect(await applyStripeInbox()).toEqual({ applied: 1, retrying: 0, parked: 0 })
    expect((await donationRow(donationId)).status).toBe('confirmed')
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 4_200, donation_count: 1 })
    expect(await outboxFor(email)).toHaveLength(1)
    expect(await db.selectFrom('stripe_inbox').select(['state', 'last_error']).where('event_id', '=', event.id).executeTakeFirstOrThrow()).toEqual({ state: 'applied', last_error: null })
  })
})

describe('refunds and disputes', () => {
  test('a partial then a full refund leave the net at zero', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 5_000 })
    const paymentIntent = `pi_${donationId.slice(0, 8)}`
    await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 5_000 })))
    await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 5_000, amountRefundedMinor: 1_000 })))
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 5_000, refunded_minor: 1_000 })
    await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 5_000, amountRefundedMinor: 5_000 })))
    const totals = await appealTotals(appeal.id)
    expect(totals).toMatchObject({ confirmed_gross_minor: 5_000, refunded_minor: 5_000 })
    expect(totals.confirmed_gross_minor - totals.refunded_minor - totals.disputed_minor).toBe(0)
    expect((await donationRow(donationId)).refunded_minor).toBe(5_000)
  })

  /** Every order of arrival of these five events must end in the same totals. */
  const eventsFor = (donationId: string) => {
    const paymentIntent = `pi_${donationId.slice(0, 8)}`
    return [
      stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 6_000, paymentIntent })),
      stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 6_000, amountRefundedMinor: 1_000 })),
      stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 6_000, amountRefundedMinor: 2_500 })),
      stripeEvent('charge.dispute.created', dispute({ paymentIntent, amountMinor: 3_500, status: 'needs_response' })),
      stripeEvent('charge.dispute.closed', dispute({ paymentIntent, amountMinor: 3_500, status: 'won' })),
    ]
  }

  function permutations<T>(items: T[]): T[][] {
    if (items.length <= 1) return [items]
    return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]))
  }

  test('every order of completed, two refunds and a dispute opened then won gives the same totals', async () => {
    const orders = permutations([0, 1, 2, 3, 4])
    expect(orders).toHaveLength(120)
    for (const order of orders) {
      const appeal = await createAppeal()
      const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 6_000 })
      const events = eventsFor(donationId)
      for (const index of order) expect(await deliver(events[index]!)).toBe(200)
      const totals = await appealTotals(appeal.id)
      expect({ order, gross: totals.confirmed_gross_minor, refunded: totals.refunded_minor, disputed: totals.disputed_minor }).toEqual({
        order,
        gross: 6_000,
        refunded: 2_500,
        disputed: 0,
      })
      expect(await ledgerTotals(appeal.id)).toMatchObject({ gross: 6_000, refunded: 2_500, disputed: 0, donations: 1 })
    }
  }, 240_000)

  test('a lost dispute keeps the money out of the net total', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 3_000 })
    const paymentIntent = `pi_${donationId.slice(0, 8)}`
    await deliver(stripeEvent('charge.dispute.closed', dispute({ paymentIntent, amountMinor: 3_000, status: 'lost' })))
    await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 3_000 })))
    await deliver(stripeEvent('charge.dispute.created', dispute({ paymentIntent, amountMinor: 3_000, status: 'needs_response' })))
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 3_000, disputed_minor: 3_000 })
  })
})

describe('what Stripe charged', () => {
  test('the receipt shows what Stripe charged, and staff see that it differs from what the donor chose', async () => {
    const { renderEmail } = await import('#emails/index.ts')
    const { getDonationDetail } = await import('#app/modules/donations/staff-donations.server.ts')
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
    // The session's amount was changed in Stripe: 30.00 charged for a 25.00 gift.
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 3_000 })))).toBe(200)
    const [receipt] = await outboxFor(email)
    expect(receipt!.props).toMatchObject({ amountMinor: 2_500, chargedMinor: 3_000 })
    const rendered = await renderEmail('donation-receipt', receipt!.props)
    expect(rendered.subject).toBe('Thank you for your gift of £30.00')
    expect(rendered.text).toContain('The amount charged, £30.00, is not the £25.00 you chose.')
    const detail = await getDonationDetail(db, donationId)
    expect(detail!.donation).toMatchObject({ chargedMinor: 3_000, askedMinor: 2_500, chargeDiffers: true, netMinor: 3_000 })

    const { donationId: sameId, email: sameEmail } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: sameId, amountMinor: 1_000 })))).toBe(200)
    const same = await renderEmail('donation-receipt', (await outboxFor(sameEmail))[0]!.props)
    expect(same.text).not.toContain('is not the')
    expect((await getDonationDetail(db, sameId))!.donation).toMatchObject({ chargedMinor: 1_000, chargeDiffers: false })
  })
})

describe('a gift paid twice', () => {
  test('a second paid Checkout Session is a gift of its own with its receipt, listed for staff until it is refunded, and its refund applies', async () => {
    const { getDonationDetail, listSecondPayments } = await import('#app/modules/donations/staff-donations.server.ts')
    const appeal = await createAppeal()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_000, paymentIntent: 'pi_first_of_two' })))).toBe(200)
    const secondSession = { ...completedSession({ donationId, amountMinor: 2_000, paymentIntent: 'pi_second_of_two' }), id: 'cs_second_of_two' }
    expect(await deliver(stripeEvent('checkout.session.completed', secondSession))).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 4_000, donation_count: 2 })
    expect((await outboxFor(email)).map((row) => row.template)).toEqual(['donation-receipt', 'donation-receipt'])
    const second = await db.selectFrom('donations').selectAll().where('second_payment_of', '=', donationId).executeTakeFirstOrThrow()
    expect(second).toMatchObject({ status: 'confirmed', stripe_payment_intent_id: 'pi_second_of_two', stripe_checkout_session_id: 'cs_second_of_two', donor_email: email })
    expect((await getDonationDetail(db, second.id))!.donation.secondPaymentOf).toBe(donationId)
    expect((await listSecondPayments(db)).map((row) => row.id)).toContain(second.id)

    expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: 'pi_second_of_two', amountMinor: 2_000, amountRefundedMinor: 2_000 })))).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 4_000, refunded_minor: 2_000 })
    expect((await listSecondPayments(db)).map((row) => row.id)).not.toContain(second.id)
    expect(await db.selectFrom('stripe_inbox').select('event_id').where('state', '=', 'waiting').where('waits_for', '=', 'pi_second_of_two').execute()).toEqual([])
  })
})
