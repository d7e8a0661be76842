import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { completedSession, dispute, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, keptUpBesideLedger, ledgerTotals, useTestStripe } from './donation-fixtures.ts'

beforeAll(() => useTestStripe())

/**
 * Random sequences of Stripe events over a few donations (some donors giving twice), delivered in
 * random order with duplicates: the kept-up totals must always equal what the ledger says.
 */
test('property: appeal totals equal the ledger after any sequence of events', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          donor: fc.integer({ min: 0, max: 2 }),
          amount: fc.integer({ min: 200, max: 50_000 }),
          refunds: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 2 }),
          dispute: fc.constantFrom('none', 'open', 'won', 'lost'),
          paid: fc.boolean(),
          giftAid: fc.boolean(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
      fc.integer({ min: 0, max: 3 }),
      async (gifts, shuffle, duplicates) => {
        const appeal = await createAppeal()
        // Donor 0 gives to every appeal the property creates: one donor to the organisation.
        const donors = [0, 1, 2].map((index) => (index === 0 ? 'donor-to-every-appeal@example.org' : `donor-${index}-${appeal.id.slice(0, 6)}@example.org`))
        const events: object[] = []
        for (const gift of gifts) {
          const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: gift.amount, email: donors[gift.donor], giftAid: gift.giftAid })
          const paymentIntent = `pi_${donationId.slice(0, 8)}`
          events.push(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: gift.amount, paymentIntent, paymentStatus: gift.paid ? 'paid' : 'unpaid' })))
          let refunded = 0
          for (const percent of gift.refunds) {
            refunded = Math.min(gift.amount, refunded + Math.ceil((gift.amount * percent) / 100))
            events.push(stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: gift.amount, amountRefundedMinor: refunded })))
          }
          if (gift.dispute !== 'none') {
            events.push(stripeEvent('charge.dispute.created', dispute({ paymentIntent, amountMinor: gift.amount, status: 'needs_response' })))
            if (gift.dispute !== 'open') events.push(stripeEvent('charge.dispute.closed', dispute({ paymentIntent, amountMinor: gift.amount, status: gift.dispute })))
          }
        }
        const order = events.map((event, index) => ({ event, key: shuffle[index % shuffle.length]! + index / 1000 })).sort((a, b) => a.key - b.key)
        const deliveries = [...order.map((entry) => entry.event), ...order.slice(0, duplicates).map((entry) => entry.event)]
        for (const event of deliveries) expect(await deliver(event)).toBe(200)

        const totals = await appealTotals(appeal.id)
        const ledger = await ledgerTotals(appeal.id)
        expect({
          gross: totals.confirmed_gross_minor,
          refunded: totals.refunded_minor,
          disputed: totals.disputed_minor,
          donations: totals.donation_count,
          donors: totals.donor_count,
          giftAidEligible: totals.gift_aid_eligible_minor,
        }).toEqual({
          gross: ledger.gross,
          refunded: ledger.refunded,
          disputed: ledger.disputed,
          donations: ledger.donations,
          donors: ledger.donors,
          giftAidEligible: ledger.giftAidEligible,
        })
        const kept = await keptUpBesideLedger()
        for (const row of kept.donors) expect({ currency: row.currency, donors: row.kept }).toEqual({ currency: row.currency, donors: row.ledger })
        for (const row of kept.days) expect({ ...row, kept: row.kept }).toEqual({ ...row, kept: row.ledger })
      },
    ),
    { numRuns: 40 },
  )
}, 240_000)
