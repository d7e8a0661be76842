import { beforeAll, describe, expect, test } from 'vitest'
import { completedSession, dispute, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, ledgerTotals, useTestStripe } from './donation-fixtures.ts'

beforeAll(() => useTestStripe())

/** A dispute object in any of Stripe's statuses (the fixture's type lists only three). */
function disputeIn(status: string, paymentIntent: string, amountMinor: number) {
  return { ...dispute({ paymentIntent, amountMinor, status: 'needs_response' }), status }
}

async function confirmedGift(amountMinor: number) {
  const appeal = await createAppeal()
  const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor })
  const paymentIntent = `pi_${donationId.slice(0, 8)}`
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor, paymentIntent })))).toBe(200)
  return { appealId: appeal.id, paymentIntent }
}

describe('disputes as Stripe describes them', () => {
  test('an inquiry withholds nothing, and warning_closed ends it with nothing moved', async () => {
    const { appealId, paymentIntent } = await confirmedGift(5_000)
    expect(await deliver(stripeEvent('charge.dispute.created', disputeIn('warning_needs_response', paymentIntent, 5_000)))).toBe(200)
    expect(await deliver(stripeEvent('charge.dispute.updated', disputeIn('warning_under_review', paymentIntent, 5_000)))).toBe(200)
    expect(await appealTotals(appealId)).toMatchObject({ confirmed_gross_minor: 5_000, disputed_minor: 0 })
    expect(await deliver(stripeEvent('charge.dispute.closed', disputeIn('warning_closed', paymentIntent, 5_000)))).toBe(200)
    expect(await appealTotals(appealId)).toMatchObject({ disputed_minor: 0 })
    expect(await ledgerTotals(appealId)).toMatchObject({ gross: 5_000, disputed: 0 })
  })

  test('an inquiry that escalates withdraws the funds; funds reinstated give them back', async () => {
    const { appealId, paymentIntent } = await confirmedGift(4_000)
    await deliver(stripeEvent('charge.dispute.created', disputeIn('warning_needs_response', paymentIntent, 4_000)))
    await deliver(stripeEvent('charge.dispute.updated', disputeIn('needs_response', paymentIntent, 4_000)))
    await deliver(stripeEvent('charge.dispute.funds_withdrawn', disputeIn('needs_response', paymentIntent, 4_000)))
    expect(await appealTotals(appealId)).toMatchObject({ disputed_minor: 4_000 })
    await deliver(stripeEvent('charge.dispute.funds_reinstated', disputeIn('won', paymentIntent, 4_000)))
    expect(await appealTotals(appealId)).toMatchObject({ disputed_minor: 0 })
    await deliver(stripeEvent('charge.dispute.closed', disputeIn('won', paymentIntent, 4_000)))
    expect(await ledgerTotals(appealId)).toMatchObject({ gross: 4_000, disputed: 0 })
  })

  test('a lost dispute stays deducted, whichever of its events arrives first', async () => {
    const { appealId, paymentIntent } = await confirmedGift(3_000)
    await deliver(stripeEvent('charge.dispute.closed', disputeIn('lost', paymentIntent, 3_000)))
    await deliver(stripeEvent('charge.dispute.funds_withdrawn', disputeIn('needs_response', paymentIntent, 3_000)))
    await deliver(stripeEvent('charge.dispute.created', disputeIn('needs_response', paymentIntent, 3_000)))
    expect(await appealTotals(appealId)).toMatchObject({ disputed_minor: 3_000 })
    expect(await ledgerTotals(appealId)).toMatchObject({ gross: 3_000, disputed: 3_000 })
  })
})
