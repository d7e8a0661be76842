import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { purgeStripeInbox } from '#app/modules/payments/stripe-inbox.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'

const db = getDb()
const DAY_MS = 24 * 60 * 60 * 1000

beforeAll(() => useTestStripe())

/** A charge as Stripe sends it, with who paid: the parts a waiting event must not keep. */
function chargeWithPayer(paymentIntent: string) {
  return {
    ...refundedCharge({ paymentIntent, amountMinor: 2_000, amountRefundedMinor: 2_000 }),
    billing_details: { name: 'Stranger Payer', email: 'stranger@example.net', phone: '+447700900123', address: { line1: '1 Secret Street', postal_code: 'E1 6AN' } },
    receipt_email: 'stranger@example.net',
    shipping: { name: 'Stranger Payer', address: { line1: '1 Secret Street' } },
    payment_method_details: { card: { last4: '4242', brand: 'visa' } },
  }
}

async function waitingPayloads() {
  const { rows } = await sql<{ payload: string }>`select payload::text as payload from stripe_inbox where state = 'waiting'`.execute(db)
  return rows.map((row) => row.payload)
}

describe('refunds of payments we never saw', () => {
  test('wait without the payer’s name, email, phone, address or card, and are forgotten by the retention job', async () => {
    await sql`delete from stripe_inbox where state = 'waiting'`.execute(db)
    expect(await deliver(stripeEvent('charge.refunded', chargeWithPayer('pi_never_seen_1')))).toBe(200)
    const payloads = await waitingPayloads()
    expect(payloads).toHaveLength(1)
    for (const personal of ['Stranger', 'stranger@example.net', '+447700900123', 'Secret Street', 'E1 6AN', '4242']) expect(payloads[0]).not.toContain(personal)
    expect(payloads[0]).toContain('pi_never_seen_1')

    expect((await purgeStripeInbox(db, { waitingDays: 30, appliedDays: 90 })).unseen).toBe(0)
    expect((await purgeStripeInbox(db, { waitingDays: 30, appliedDays: 90, now: new Date(Date.now() + 31 * DAY_MS) })).unseen).toBe(1)
    expect(await waitingPayloads()).toEqual([])
  })

  test('a refund that waited without its personal fields still applies when its payment arrives', async () => {
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    const paymentIntent = `pi_${donationId.slice(0, 8)}`
    expect(await deliver(stripeEvent('charge.refunded', chargeWithPayer(paymentIntent)))).toBe(200)
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_000, paymentIntent })))).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_000, refunded_minor: 2_000 })
  })
})
