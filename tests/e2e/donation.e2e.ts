import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { baseUrl, expectAccessible, launchBrowser, newContext, recordRequests, waitForEmailTo } from './browser.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

const APPEAL = '/appeals/walk-again-yusuf'

async function raisedOnAppealPage(page: Page): Promise<number> {
  await page.goto(APPEAL)
  const text = await page.locator('main').innerText()
  const match = /£([\d,]+(?:\.\d{2})?)\s+raised/.exec(text)
  expect(match, 'the appeal page shows the amount raised').not.toBeNull()
  return Number(match![1]!.replace(/,/g, ''))
}


describe.each([
  { javaScript: true, label: 'with JavaScript' },
  { javaScript: false, label: 'without JavaScript' },
])('giving to an appeal $label', ({ javaScript }) => {
  test('appeal → form → offline checkout → thank-you → the total went up → the receipt is in the mailbox', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    const requests = recordRequests(page)
    const email = `e2e-${javaScript ? 'js' : 'nojs'}-${Date.now()}@example.org`

    const before = await raisedOnAppealPage(page)
    if (javaScript) await expectAccessible(page)
    await page.getByLabel('£25', { exact: true }).check()
    await page.getByLabel('Your name').fill('Maryam E2E')
    await page.getByLabel(/Your email address/).fill(email)
    await page.getByRole('button', { name: /^Donate/ }).click()

    await page.waitForURL(/\/dev\/checkout\//)
    // With JavaScript the address changes a moment before the new page renders.
    await expect.poll(() => page.locator('h1').innerText()).toBe('Pay £25.00')
    if (javaScript) await expectAccessible(page)
    await page.getByRole('button', { name: 'Pay £25.00' }).click()

    await page.waitForURL(/\/donate\/thank-you\?session_id=cs_offline_/)
    await expect.poll(() => page.locator('h1').innerText()).toBe('Thank you')
    expect(await page.getByRole('status').innerText()).toContain('£25.00')
    if (javaScript) await expectAccessible(page)

    expect(await raisedOnAppealPage(page)).toBe(before + 25)
    const receipt = await (await waitForEmailTo(page, email)).innerText()
    expect(receipt).toMatch(/gift/i)

    // Until the supporter chose to pay, nothing left our own origin.
    const origin = new URL(baseUrl()).origin
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([])
    await context.close()
  })
})

test('invalid input keeps what was typed, shows the errors beside the fields, and takes nothing', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await page.goto(APPEAL)
  await page.getByLabel('Other amount').check()
  await page.getByLabel(/Your amount/).fill('0.50')
  await page.getByLabel('Your name').fill('Keeps Typing')
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForLoadState()
  expect(new URL(page.url()).pathname).toBe(APPEAL)
  expect(await page.getByLabel('Your name').inputValue()).toBe('Keeps Typing')
  expect(await page.getByLabel(/Your amount/).inputValue()).toBe('0.50')
  const text = await page.locator('main').innerText()
  expect(text).toMatch(/smallest gift/i)
  expect(text).toMatch(/email/i)
  await context.close()
})
