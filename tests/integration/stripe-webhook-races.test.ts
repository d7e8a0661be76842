import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, dispute, paidInvoice, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, ledgerTotals, useTestStripe } from './donation-fixtures.ts'

/**
 * Stripe may deliver two events of one payment at the same instant, to two servers. Delivered one
 * after another (stripe-webhook.test.ts), every order gives the same totals; delivered together,
 * each transaction must still see what the other committed. On PGlite (one backend) deliveries
 * cannot overlap, so this proves something only on a real PostgreSQL, where CI runs it too.
 */

const db = getDb()
const PAIRS = 20

beforeAll(() => useTestStripe())

async function waitingEvents() {
  const { rows } = await sql<{ n: number }>`select count(*)::bigint as n from stripe_inbox where state = 'waiting'`.execute(db)
  return Number(rows[0]!.n)
}

/** Both deliveries leave together: neither starts until both are ready to be sent. */
async function atTheSameInstant(first: object, second: object) {
  return Promise.all([deliver(first), deliver(second)])
}

describe('two events of one payment at the same instant', () => {
  test(`a completion and its refund, ${PAIRS} pairs at once: every refund is applied`, async () => {
    const appeal = await createAppeal()
    const donations = await Promise.all(Array.from({ length: PAIRS }, () => createPendingDonation({ appealId: appeal.id, amountMinor: 4_000 })))
    const statuses = await Promise.all(
      donations.map(({ donationId }) => {
        const paymentIntent = `pi_${donationId.slice(0, 8)}`
        return atTheSameInstant(
          stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 4_000, paymentIntent })),
          stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 4_000, amountRefundedMinor: 1_500 })),
        )
      }),
    )
    expect(statuses.flat()).toEqual(Array(PAIRS * 2).fill(200))
    expect(await waitingEvents()).toBe(0)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 4_000 * PAIRS, refunded_minor: 1_500 * PAIRS })
    expect(await ledgerTotals(appeal.id)).toMatchObject({ gross: 4_000 * PAIRS, refunded: 1_500 * PAIRS, donations: PAIRS })
  })

  test(`a completion and a dispute opened on it, ${PAIRS} pairs at once: every dispute withholds its money`, async () => {
    const appeal = await createAppeal()
    const donations = await Promise.all(Array.from({ length: PAIRS }, () => createPendingDonation({ appealId: appeal.id, amountMinor: 3_000 })))
    await Promise.all(
      donations.map(({ donationId }) => {
        const paymentIntent = `pi_${donationId.slice(0, 8)}`
        return atTheSameInstant(
          stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 3_000, paymentIntent })),
          stripeEvent('charge.dispute.created', dispute({ paymentIntent, amountMinor: 3_000, status: 'needs_response' })),
        )
      }),
    )
    expect(await waitingEvents()).toBe(0)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 3_000 * PAIRS, disputed_minor: 3_000 * PAIRS })
  })

  test(`a new monthly gift's checkout and its first invoice, ${PAIRS} at once: one confirmed gift each, no deadlock`, async () => {
    const appeal = await createAppeal()
    const pendings = await Promise.all(
      Array.from({ length: PAIRS }, () => createPendingDonation({ appealId: appeal.id, amountMinor: 1_000, frequency: 'monthly' })),
    )
    const statuses = await Promise.all(
      pendings.map((pending) => {
        const subscription = `sub_${pending.donationId.slice(0, 8)}`
        const invoice = `in_first_${pending.donationId.slice(0, 6)}`
        return atTheSameInstant(
          stripeEvent(
            'checkout.session.completed',
            completedSession({ donationId: pending.donationId, amountMinor: 1_000, mode: 'subscription', subscription, invoice, recurringPlanId: pending.recurringPlanId! }),
          ),
          stripeEvent(
            'invoice.paid',
            paidInvoice({ id: invoice, subscription, amountPaidMinor: 1_000, billingReason: 'subscription_create', recurringPlanId: pending.recurringPlanId! }),
          ),
        )
      }),
    )
    // A deadlock would be a 500 here (PostgreSQL aborts one side).
    expect(statuses.flat()).toEqual(Array(PAIRS * 2).fill(200))
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 1_000 * PAIRS, donation_count: PAIRS })
    const plans = await db.selectFrom('recurring_plans').select('status').where('appeal_id', '=', appeal.id).execute()
    expect(plans.map((plan) => plan.status)).toEqual(Array(PAIRS).fill('active'))
  })
})
