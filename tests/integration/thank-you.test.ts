import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { DONATION_STATUSES } from '#app/modules/donations/donation-statuses.ts'
import { headers, loader } from '#app/routes/donate.thank-you.tsx'
import { checkoutCookieHeader } from '#app/utils/checkout-cookie.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'

const db = getDb()

beforeAll(() => useTestStripe())

function thankYou(sessionId: string, cookie?: string) {
  const url = `http://localhost:3000/donate/thank-you?session_id=${encodeURIComponent(sessionId)}`
  return loader({ request: new Request(url, { headers: cookie ? { Cookie: cookie } : {} }), params: {}, context: {} })
}

/**
 * The page polls this loader while a gift is pending, so whatever it returns is fetched again and
 * again: each state gets what the page shows and nothing more, and no copy is kept on the way.
 */
test.each(DONATION_STATUSES)('status %s: the page is told its state, amount and appeal, and nothing about the donor', async (status) => {
  const appeal = await createAppeal({ currency: 'USD' })
  const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500, currency: 'USD', frequency: 'monthly' })
  const sessionId = `cs_test_${randomUUID().replaceAll('-', '')}`
  await db
    .updateTable('donations')
    .set({ status, stripe_checkout_session_id: sessionId, message: 'A private message' })
    .where('id', '=', donationId)
    .execute()

  const data = await thankYou(sessionId)
  expect(data.gift).toEqual({ status, monthly: true, amount: 'US$25.00', appealTitle: 'Test appeal', appealSlug: appeal.slug })
  expect(data.receiptEmail).toBeNull()
  const text = JSON.stringify(data)
  for (const personal of [email, 'Test Donor', 'A private message', donationId]) expect(text).not.toContain(personal)
})

test('an unknown or malformed session is not found, and the page is never stored', async () => {
  await expect(thankYou(`cs_test_${randomUUID().replaceAll('-', '')}`)).rejects.toMatchObject({ status: 404 })
  await expect(thankYou("cs_x' or 1=1 --")).rejects.toMatchObject({ status: 404 })
  const headersArgs = { loaderHeaders: new Headers(), parentHeaders: new Headers(), actionHeaders: new Headers(), errorHeaders: undefined }
  expect(new Headers(typeof headers === 'function' ? headers(headersArgs) : headers).get('Cache-Control')).toBe('no-store')
})

/** A gift made the way a supporter makes it: pending at checkout, confirmed by Stripe's webhook. */
async function confirmedGift(appealId: string, amountMinor: number, submissionId: string | null = null) {
  const gift = await createPendingDonation({ appealId, amountMinor })
  await db.updateTable('donations').set({ checkout_submission_id: submissionId }).where('id', '=', gift.donationId).execute()
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: gift.donationId, amountMinor })))).toBe(200)
  return { ...gift, sessionId: `cs_test_${gift.donationId.slice(0, 8)}` }
}

describe('issue 13: the thank-you page once the gift is applied', () => {
  test('shows the updated progress and which supporter of the appeal the giver is', async () => {
    const appeal = await createAppeal({ goalMinor: 10_000 })
    const first = await confirmedGift(appeal.id, 2_500)
    const second = await confirmedGift(appeal.id, 1_000)

    const data = await thankYou(second.sessionId)
    expect(data.gift.status).toBe('confirmed')
    expect(data.progress).toEqual({ raised: '£35', goal: '£100', percent: 35, supporterCount: 2, supporterNumber: 2 })
    expect((await thankYou(first.sessionId)).progress).toMatchObject({ supporterNumber: 1, supporterCount: 2 })
    expect(data.share).toEqual({ url: expect.stringMatching(new RegExp(`/appeals/${appeal.slug}$`)) })
    expect(data.nextSteps).not.toBeNull()
  })

  test('shows where the receipt went only to the browser that made the gift', async () => {
    const appeal = await createAppeal()
    const submissionId = randomUUID()
    const gift = await confirmedGift(appeal.id, 2_000, submissionId)
    const cookie = (await checkoutCookieHeader(submissionId)).split(';')[0]!

    expect((await thankYou(gift.sessionId, cookie)).receiptEmail).toBe(gift.email)
    // Anyone else with the address (a shared link, another browser, someone else's cookie) sees no email address.
    const someoneElse = (await checkoutCookieHeader(randomUUID())).split(';')[0]!
    for (const other of [undefined, someoneElse, `${cookie}tampered`]) {
      const data = await thankYou(gift.sessionId, other)
      expect(data.receiptEmail).toBeNull()
      expect(JSON.stringify(data)).not.toContain(gift.email)
    }
  })

  test('while the gift is being confirmed: share prompts and next steps only, no figures and no email address', async () => {
    const appeal = await createAppeal()
    const submissionId = randomUUID()
    const { donationId, email } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_000 })
    const sessionId = `cs_test_${randomUUID().replaceAll('-', '')}`
    await db.updateTable('donations').set({ stripe_checkout_session_id: sessionId, checkout_submission_id: submissionId }).where('id', '=', donationId).execute()
    const cookie = (await checkoutCookieHeader(submissionId)).split(';')[0]!

    const data = await thankYou(sessionId, cookie)
    expect(data.gift.status).toBe('pending')
    expect(data.progress).toBeNull()
    expect(data.receiptEmail).toBeNull()
    expect(data.share).not.toBeNull()
    expect(data.nextSteps).not.toBeNull()
    expect(JSON.stringify(data)).not.toContain(email)

    await db.updateTable('donations').set({ status: 'failed' }).where('id', '=', donationId).execute()
    const failed = await thankYou(sessionId, cookie)
    expect({ share: failed.share, nextSteps: failed.nextSteps, progress: failed.progress }).toEqual({ share: null, nextSteps: null, progress: null })
  })
})
