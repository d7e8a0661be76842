import { randomUUID } from 'node:crypto'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { OFFLINE_WEBHOOK_SECRET, signWebhookPayload } from '#app/modules/payments/stripe.server.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { baseUrl, expectAccessible, launchBrowser, newContext, recordRequests, waitForHydration } from './browser.ts'

/**
 * The thank-you page's states: a gift not yet applied (pending), a bank debit (processing), a gift
 * applied (confirmed), and a payment that failed or a checkout that expired. A supporter often
 * lands here before the webhook has been applied, so the page must say so and let them check again
 * with or without JavaScript, without a timed refresh.
 */

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

// Not the appeal whose totals donation.e2e.ts and staff.e2e.ts compare before and after a gift:
// the bank debit made here settles by itself a minute later, in the middle of some other test.
const APPEAL = '/appeals/rebuild-home-samir'
const PAY = 'Pay US$25.00'

/** A gift left at the payment page: pending, as when Stripe sends the supporter back before its webhook is applied. */
async function startGift() {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await page.goto(APPEAL)
  await page.getByLabel('US$25', { exact: true }).check()
  await page.getByLabel('Your name').fill('Thanks E2E')
  await page.getByLabel(/Your email address/).fill(`e2e-thanks-${randomUUID().slice(0, 8)}@example.org`)
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForURL(/\/dev\/checkout\//)
  const donationId = new URL(page.url()).pathname.split('/').pop()!
  await context.close()
  return { donationId, checkoutPath: `/dev/checkout/${donationId}`, thankYouPath: `/donate/thank-you?session_id=cs_offline_${donationId}` }
}

/** Pays on the offline checkout, as the supporter would have done in another tab. */
async function pay(checkoutPath: string, button: string | RegExp) {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await page.goto(checkoutPath)
  await page.getByRole('button', { name: button }).click()
  await page.waitForURL(/\/donate\/thank-you\?/)
  await context.close()
}

/** The event Stripe sends when a delayed payment fails or a Checkout Session expires, signed as the offline checkout signs. */
async function sendCheckoutEvent(type: 'checkout.session.async_payment_failed' | 'checkout.session.expired', donationId: string) {
  const session = completedSession({ donationId, amountMinor: 2_500, currency: 'usd', paymentStatus: 'unpaid' })
  const body = JSON.stringify(stripeEvent(type, { ...session, status: type === 'checkout.session.expired' ? 'expired' : 'complete' }))
  const response = await fetch(`${baseUrl()}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signWebhookPayload(body, OFFLINE_WEBHOOK_SECRET) },
    body,
  })
  expect(response.status).toBe(200)
}

const liveRegion = (page: Page) => page.locator('[aria-live="polite"]')
const timedRefresh = (page: Page) => page.locator('meta[http-equiv="refresh" i]')

test('pending, without JavaScript: no timed refresh, a Check again button that shows the thank you once the gift is applied', async () => {
  const gift = await startGift()
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  const response = await page.goto(gift.thankYouPath)
  expect(response!.headers()['cache-control']).toBe('no-store')
  expect(await page.locator('main').innerText()).toMatch(/confirming your payment…/i)
  expect(await timedRefresh(page).count()).toBe(0)
  // There from the first render, so a change to it is announced once JavaScript polls.
  expect(await liveRegion(page).count()).toBe(1)
  const checkAgain = page.getByRole('button', { name: 'Check again' })
  await checkAgain.click()
  await page.waitForLoadState()
  expect(await page.locator('h1').innerText()).toMatch(/confirming your payment/i)

  await pay(gift.checkoutPath, PAY)
  // The gift may be applied a moment after the webhook is answered: press again until it is.
  await expect
    .poll(
      async () => {
        if (await checkAgain.isVisible()) {
          await checkAgain.click()
          await page.waitForLoadState()
        }
        return page.locator('h1').innerText()
      },
      { timeout: 20_000, interval: 500 },
    )
    .toBe('Thank you')
  expect(new URL(page.url()).searchParams.get('session_id')).toBe(`cs_offline_${gift.donationId}`)
  expect(await liveRegion(page).innerText()).toMatch(/US\$25\.00 to Rebuild Samir's family home has been received/)
  expect(await timedRefresh(page).count()).toBe(0)
  await context.close()
})

test('pending, with JavaScript: the page checks by itself and announces the thank you in the same live region, without a reload', async () => {
  const gift = await startGift()
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto(gift.thankYouPath)
  await waitForHydration(page)
  expect(await timedRefresh(page).count()).toBe(0)
  const live = liveRegion(page)
  expect(await live.count()).toBe(1)
  expect(await live.innerText()).toMatch(/confirming your payment…/i)
  await expect.poll(() => page.getByRole('button', { name: 'Check again' }).isVisible()).toBe(true)
  await expectAccessible(page)
  // Marks this document and this region: a reload would lose the first, a new region the second.
  await page.evaluate(() => {
    ;(window as unknown as { sameDocument: boolean }).sameDocument = true
  })
  await live.evaluate((element) => element.setAttribute('data-e2e-region', 'first'))

  await pay(gift.checkoutPath, PAY)
  await expect.poll(() => page.locator('h1').innerText(), { timeout: 20_000 }).toBe('Thank you')
  expect(await page.locator('[aria-live="polite"][data-e2e-region="first"]').innerText()).toMatch(/has been received/)
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true)
  expect(await page.getByRole('button', { name: 'Check again' }).count()).toBe(0)
  await expectAccessible(page)
  await context.close()
})

test('pending, with JavaScript: checking stops after two minutes and leaves Check again, which still works', async () => {
  const gift = await startGift()
  const context = await newContext(browser)
  const page = await context.newPage()
  // The page's clock runs as usual until the test jumps it forward.
  await page.clock.install()
  await page.goto(gift.thankYouPath)
  await waitForHydration(page)
  const requests = recordRequests(page)
  const checks = () => requests.filter((url) => new URL(url).pathname.startsWith('/donate/thank-you')).length
  await expect.poll(checks, { timeout: 10_000 }).toBeGreaterThan(0)

  await page.clock.fastForward('02:01')
  await expect.poll(() => page.locator('main').innerText(), { timeout: 10_000 }).toMatch(/stopped checking/i)
  const stoppedAt = requests.length
  await page.waitForTimeout(7_000)
  expect(requests.slice(stoppedAt)).toEqual([])
  const checkAgain = page.getByRole('button', { name: 'Check again' })
  expect(await checkAgain.isVisible()).toBe(true)
  await expectAccessible(page)

  await pay(gift.checkoutPath, PAY)
  await expect
    .poll(
      async () => {
        if (await checkAgain.isVisible()) await checkAgain.click()
        return page.locator('h1').innerText()
      },
      { timeout: 20_000, interval: 1_000 },
    )
    .toBe('Thank you')
  expect(await liveRegion(page).innerText()).toMatch(/has been received/)
  // The pressed button is gone with the pending state: focus goes to the new heading, not to the page's start.
  expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1')
  await context.close()
})

test('processing (a bank debit): says when to expect confirmation, and asks the server nothing more', async () => {
  const gift = await startGift()
  await pay(gift.checkoutPath, /bank debit/)
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto(gift.thankYouPath)
  await waitForHydration(page)
  await page.waitForLoadState('networkidle')
  const text = await liveRegion(page).innerText()
  expect(text).toMatch(/3 to 5 working days/)
  expect(text).toMatch(/email your receipt/)
  expect(await timedRefresh(page).count()).toBe(0)
  expect(await page.getByRole('button', { name: 'Check again' }).count()).toBe(0)
  await expectAccessible(page)

  const requests = recordRequests(page)
  await page.waitForTimeout(7_000)
  expect(requests).toEqual([])
  await context.close()
})

test.each([
  { type: 'checkout.session.async_payment_failed' as const, heading: /did not go through/i },
  { type: 'checkout.session.expired' as const, heading: /expired/i },
])('$type: says nothing was taken and leads back to the appeal to try again', async ({ type, heading }) => {
  const gift = await startGift()
  await sendCheckoutEvent(type, gift.donationId)
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto(gift.thankYouPath)
  await waitForHydration(page)
  // Applied from the inbox a moment after the webhook is answered; the page checks by itself meanwhile.
  await expect.poll(() => page.locator('h1').innerText(), { timeout: 20_000 }).toMatch(heading)
  expect(await liveRegion(page).innerText()).toMatch(/nothing was taken/i)
  expect(await timedRefresh(page).count()).toBe(0)
  await expectAccessible(page)
  const tryAgain = page.getByRole('link', { name: /try again/i })
  expect(await tryAgain.getAttribute('href')).toBe(`${APPEAL}#donate`)
  await tryAgain.click()
  await page.waitForURL(new RegExp(`${APPEAL}#donate$`))
  await expect.poll(() => page.getByRole('heading', { name: 'Give to this appeal' }).isVisible()).toBe(true)
  await context.close()
})
