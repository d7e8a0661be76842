import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { expectAccessible, launchBrowser, newContext, waitForEmailTo } from './browser.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

async function fillRegistration(page: Page, details: { name: string; email: string; places?: string; freeTicket?: string }) {
  if (details.freeTicket) await page.getByLabel(new RegExp(`^${details.freeTicket}`)).check()
  if (details.places) await page.getByLabel('Number of places').selectOption(details.places)
  await page.getByLabel('Your name').fill(details.name)
  await page.getByLabel(/Your email/).fill(details.email)
  await page.getByLabel(/I agree to the/).check()
}

test('registering for a free online event shows the confirmation, and the email is in the mailbox', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const email = `e2e-register-${Date.now()}@example.org`
  await page.goto('/events/online-briefing-enforced-disappearances')
  await expectAccessible(page)
  // The joining link is for registered people only.
  expect(await page.content()).not.toContain('meet.example.org')
  await fillRegistration(page, { name: 'Hamza E2E', email })
  await page.getByRole('button', { name: 'Register' }).click()
  await page.waitForURL(/\/registrations\/[0-9a-f-]+\?signature=/)
  // With JavaScript the address changes a moment before the new page renders.
  await expect.poll(() => page.getByRole('status').innerText()).toContain('You are registered')
  expect(await page.locator('main').innerText()).toContain('https://meet.example.org/enforced-disappearances-briefing')
  await expectAccessible(page)

  await waitForEmailTo(page, email)
  await context.close()
})

test('without JavaScript, a full event offers the waitlist and puts the next person on it', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  // Twelve places, four per booking: three bookings fill the evening.
  for (let booking = 0; booking < 3; booking++) {
    await page.goto('/events/witness-testimonies-evening')
    await fillRegistration(page, { name: `Booker ${booking}`, email: `booker-${booking}-${Date.now()}@example.org`, places: '4', freeTicket: 'Free place' })
    await page.getByRole('button', { name: /Register|Join the waitlist/ }).click()
    await page.waitForURL(/\/registrations\//)
  }
  await page.goto('/events/witness-testimonies-evening')
  expect(await page.locator('main').innerText()).toContain('Full: join the waitlist')
  await fillRegistration(page, { name: 'Waiting E2E', email: `waiting-${Date.now()}@example.org`, freeTicket: 'Free place' })
  await page.getByRole('button', { name: 'Join the waitlist' }).click()
  await page.waitForURL(/\/registrations\//)
  expect(await page.getByRole('status').innerText()).toMatch(/waitlist, number 1/)
  await context.close()
})
