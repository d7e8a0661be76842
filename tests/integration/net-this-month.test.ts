import { sql } from 'kysely'
import { beforeAll, expect, test } from 'vitest'
import { getNetThisMonth } from '#app/modules/donations/campaign-totals.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'

/** The dashboard's "net raised this month": the ledger's signed entries since the 1st, in the organisation's zone. */

const db = getDb()
beforeAll(() => useTestStripe())

async function giftOf(appealId: string, amountMinor: number, currency: string) {
  const { donationId } = await createPendingDonation({ appealId, amountMinor, currency })
  const paymentIntent = `pi_${donationId.replaceAll('-', '').slice(0, 16)}`
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor, currency, paymentIntent })))).toBe(200)
  return { donationId, paymentIntent }
}

test('counts this month’s gifts less this month’s refunds, per currency, and nothing from last month', async () => {
  const currency = 'SEK'
  const appeal = await createAppeal({ currency })
  const before = (await getNetThisMonth(db, 'Europe/London')).get(currency) ?? 0

  const kept = await giftOf(appeal.id, 5_000, currency)
  expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: kept.paymentIntent, amountMinor: 5_000, amountRefundedMinor: 1_200 })))).toBe(200)
  const old = await giftOf(appeal.id, 9_900, currency)
  await sql`update ledger_entries set occurred_at = date_trunc('month', now()) - interval '2 days' where donation_id = ${old.donationId}`.execute(db)

  expect((await getNetThisMonth(db, 'Europe/London')).get(currency)).toBe(before + 5_000 - 1_200)
})
