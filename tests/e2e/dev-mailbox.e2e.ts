import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { expectAccessible, launchBrowser, newContext } from './browser.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

test('an email sent by the app appears in the development mailbox, rendered', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  // The mailbox's own "send a test email" goes through the same outbox, and the worker running in
  // the server delivers it, as it will every receipt and confirmation.
  await page.goto('/dev/mailbox')
  await page.getByLabel('Email', { exact: true }).selectOption('staff-sign-in')
  await page.getByLabel('Send to').fill('reader@example.org')
  await page.getByRole('button', { name: 'Send a test email' }).click()
  // Reloading before the post has answered would cancel it, so wait for the mailbox to say it is queued.
  await page.getByRole('status').filter({ hasText: 'reader@example.org' }).waitFor()
  await expect
    .poll(async () => {
      await page.reload()
      return page.locator('tr', { hasText: 'reader@example.org' }).getByRole('link', { name: /sign-in link/i }).count()
    }, { timeout: 20_000 })
    .toBeGreaterThan(0)
  await expectAccessible(page)
  // This test's email: other tests send real sign-in links to staff meanwhile.
  await page.locator('tr', { hasText: 'reader@example.org' }).getByRole('link', { name: /sign-in link/i }).first().click()
  await expect.poll(() => page.locator('h1').textContent()).toMatch(/sign-in link/i)
  expect(await page.getByTestId('email-text').innerText()).toContain('Hana')
  await expectAccessible(page)

  await page.getByRole('link', { name: 'View the email as the supporter sees it' }).click()
  await page.waitForURL('**/html')
  // The rendered email: the greeting, and the sign-in button as a real link.
  expect(await page.locator('body').innerText()).toContain('Hana')
  expect(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toMatch(/^https:\/\//)
  await context.close()
})
