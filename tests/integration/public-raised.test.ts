import { beforeAll, describe, expect, test } from 'vitest'
import { getCampaignTotals } from '#app/modules/donations/campaign-totals.server.ts'
import { loader as appealsLoader } from '#app/routes/appeals._index.tsx'
import { loader as appealLoader } from '#app/routes/appeals.$slug.tsx'
import { loader as homeLoader } from '#app/routes/_index.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, dispute, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'

/**
 * The public "raised" figure (appeal page, appeal cards on the home page and /appeals, and the
 * progress bar that reads it) is what the appeal kept: confirmed gifts less refunds and disputes.
 * Staff still see gross, refunded, disputed and net side by side.
 */

const db = getDb()

beforeAll(() => useTestStripe())

async function confirmedGift(appealId: string, amountMinor: number) {
  const { donationId } = await createPendingDonation({ appealId, amountMinor })
  const paymentIntent = `pi_${donationId.replaceAll('-', '').slice(0, 16)}`
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor, paymentIntent })))).toBe(200)
  return paymentIntent
}

async function publicRaised(slug: string) {
  const { data: page } = await appealLoader({ request: new Request(`https://appeals.example.org/appeals/${slug}`), params: { slug }, context: {} })
  const card = (await appealsLoader()).appeals.find((appeal) => appeal.slug === slug)
  const homeCard = (await homeLoader()).appeals.find((appeal) => appeal.slug === slug)
  return { page: page.totals.raisedMinor, card: card?.raised_minor, homeCard: homeCard?.raised_minor }
}

describe('the public raised figure is net', () => {
  test('a refund and a lost dispute, delivered by webhook, lower the public figure; staff keep gross beside net', async () => {
    const appeal = await createAppeal({ goalMinor: 100_000 })
    await db.updateTable('appeals').set({ featured: true }).where('id', '=', appeal.id).execute()
    const refunded = await confirmedGift(appeal.id, 6_000)
    const disputed = await confirmedGift(appeal.id, 4_000)
    const won = await confirmedGift(appeal.id, 2_500)
    expect(await publicRaised(appeal.slug)).toEqual({ page: 12_500, card: 12_500, homeCard: 12_500 })

    expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: refunded, amountMinor: 6_000, amountRefundedMinor: 1_500 })))).toBe(200)
    expect(await publicRaised(appeal.slug)).toEqual({ page: 11_000, card: 11_000, homeCard: 11_000 })

    expect(await deliver(stripeEvent('charge.dispute.created', dispute({ paymentIntent: disputed, amountMinor: 4_000, status: 'needs_response' })))).toBe(200)
    expect(await deliver(stripeEvent('charge.dispute.closed', dispute({ paymentIntent: disputed, amountMinor: 4_000, status: 'lost' })))).toBe(200)
    expect(await publicRaised(appeal.slug)).toEqual({ page: 7_000, card: 7_000, homeCard: 7_000 })

    // A dispute the charity wins gives the money back, and the figure with it.
    expect(await deliver(stripeEvent('charge.dispute.created', dispute({ paymentIntent: won, amountMinor: 2_500, status: 'needs_response' })))).toBe(200)
    expect(await deliver(stripeEvent('charge.dispute.closed', dispute({ paymentIntent: won, amountMinor: 2_500, status: 'won' })))).toBe(200)
    expect(await publicRaised(appeal.slug)).toEqual({ page: 7_000, card: 7_000, homeCard: 7_000 })

    const staff = (await getCampaignTotals(db)).appeals.find((row) => row.appealId === appeal.id)
    expect(staff).toMatchObject({ grossMinor: 12_500, refundedMinor: 1_500, disputedMinor: 4_000, netMinor: 7_000 })
  })
})
