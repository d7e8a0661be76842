import { http, HttpResponse } from 'msw'
import { beforeAll, expect, test } from 'vitest'
import { reconcileStripeEvents } from '#app/modules/payments/reconciliation.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { server } from '#tests/mocks/node.ts'
import { clearStripeCalls, completedSession, recordStripeCall, STRIPE_API, stripeCalls, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, applyStripeInbox, createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'

const db = getDb()
beforeAll(() => useTestStripe())

test('puts the undelivered events of the last three days that the inbox lacks into it, once; they apply as deliveries do, and one that cannot apply is parked without keeping others out', async () => {
  const appeal = await createAppeal()
  const delivered = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
  const missed = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
  const deliveredEvent = stripeEvent('checkout.session.completed', completedSession({ donationId: delivered.donationId, amountMinor: 1_000 }))
  const missedEvent = stripeEvent('checkout.session.completed', completedSession({ donationId: missed.donationId, amountMinor: 2_000 }))
  // Stripe would never list this, but if it did, a retry could not cure it.
  const malformedEvent = stripeEvent('charge.refunded', { id: 'ch_malformed', object: 'charge', payment_intent: 'pi_malformed', amount: 'all of it', amount_refunded: 1 })
  expect(await deliver(deliveredEvent)).toBe(200)

  clearStripeCalls()
  server.use(
    http.get(`${STRIPE_API}/v1/events`, async ({ request }) => {
      await recordStripeCall(request)
      return HttpResponse.json({ object: 'list', url: '/v1/events', has_more: false, data: [malformedEvent, missedEvent, deliveredEvent] })
    }),
  )
  const now = new Date()
  expect(await reconcileStripeEvents(db, now)).toEqual({ seen: 3, stored: 2 })
  expect(await reconcileStripeEvents(db, now)).toEqual({ seen: 3, stored: 0 })
  expect(await applyStripeInbox()).toEqual({ applied: 1, retrying: 0, parked: 1 })
  const stored = await db.selectFrom('stripe_inbox').select(['event_id', 'source', 'state']).where('event_id', 'in', [missedEvent.id, malformedEvent.id]).orderBy('state').execute()
  expect(stored).toEqual([
    { event_id: missedEvent.id, source: 'reconciliation', state: 'applied' },
    { event_id: malformedEvent.id, source: 'reconciliation', state: 'parked' },
  ])

  const query = stripeCalls[0]!.form
  expect(query.get('delivery_success')).toBe('false')
  expect(Number(query.get('created[gte]'))).toBe(Math.floor((now.getTime() - 3 * 24 * 60 * 60 * 1000) / 1000))
  expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 3_000, donation_count: 2 })
})
