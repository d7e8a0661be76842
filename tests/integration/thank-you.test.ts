import { randomUUID } from 'node:crypto'
import { expect, test } from 'vitest'
import { DONATION_STATUSES } from '#app/modules/donations/donation-statuses.ts'
import { headers, loader } from '#app/routes/donate.thank-you.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { createAppeal, createPendingDonation } from './donation-fixtures.ts'

const db = getDb()

function thankYou(sessionId: string) {
  const url = `http://localhost:3000/donate/thank-you?session_id=${encodeURIComponent(sessionId)}`
  return loader({ request: new Request(url), params: {}, context: {} })
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
  expect(data).toEqual({
    gift: { status, monthly: true, amount: 'US$25.00', appealTitle: 'Test appeal', appealSlug: appeal.slug },
  })
  const text = JSON.stringify(data)
  for (const personal of [email, 'Test Donor', 'A private message', donationId]) expect(text).not.toContain(personal)
})

test('an unknown or malformed session is not found, and the page is never stored', async () => {
  await expect(thankYou(`cs_test_${randomUUID().replaceAll('-', '')}`)).rejects.toMatchObject({ status: 404 })
  await expect(thankYou("cs_x' or 1=1 --")).rejects.toMatchObject({ status: 404 })
  const headersArgs = { loaderHeaders: new Headers(), parentHeaders: new Headers(), actionHeaders: new Headers(), errorHeaders: undefined }
  expect(new Headers(typeof headers === 'function' ? headers(headersArgs) : headers).get('Cache-Control')).toBe('no-store')
})
