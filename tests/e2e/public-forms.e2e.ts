import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { expectAccessible, launchBrowser, newContext, waitForHydration } from './browser.ts'

/**
 * The public forms' own state (app/components/use-public-form.ts) with JavaScript on: the browser's
 * check stops a bad submit and shows the errors beside the fields, focus goes to the summary,
 * what was typed stays, the errors follow the typing, and the server's answer shows the same way.
 */

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

const APPEAL = '/appeals/walk-again-yusuf'
const EVENT = '/events/online-briefing-enforced-disappearances'

function recordPosts(page: Page) {
  const posts: string[] = []
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(request.url())
  })
  return posts
}

/** Touching the form fetches its check; it is ready once that script and its imports have arrived. */
async function loadTheCheck(page: Page, label: RegExp | string, chunk: RegExp) {
  const fetched = page.waitForResponse((response) => chunk.test(response.url()))
  await page.getByLabel(label).focus()
  await fetched
  await page.waitForLoadState('networkidle')
}

/** Script errors and React's warnings (a hydration mismatch above all) end up here. */
function trackErrors(page: Page) {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    // The browser reports the server's 400 answer itself; that refusal is what one test is about.
    if (message.type() === 'error' && !message.text().includes('status of 400')) errors.push(message.text())
  })
  return errors
}

async function focusedElement(page: Page) {
  return page.evaluate(() => ({ id: document.activeElement?.id, className: document.activeElement?.className }))
}

test('donating: the browser stops a bad submit, shows each error beside its field and keeps what was typed', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const posts = recordPosts(page)
  const errors = trackErrors(page)
  await page.goto(APPEAL)
  await waitForHydration(page)
  await loadTheCheck(page, 'Your name', /donation-validation-[A-Z0-9]+\.js$/)

  await page.getByLabel('Other amount').check()
  await page.getByLabel(/Your amount/).fill('0.50')
  await page.getByLabel('Your name').fill('Keeps Typing')
  await page.getByRole('button', { name: /^Donate/ }).click()

  const summary = page.locator('.error-summary')
  await expect.poll(() => focusedElement(page)).toEqual({ id: '', className: 'error-summary' })
  expect(await summary.innerText()).toMatch(/There is a problem/)
  expect(posts, 'the browser refused the submit itself').toEqual([])
  expect(new URL(page.url()).pathname).toBe(APPEAL)

  // Each error sits beside its field, and the field points at it.
  const email = page.getByLabel(/Your email address/)
  expect(await page.locator('#donation-email-error').innerText()).toMatch(/Enter your email address/)
  expect(await email.getAttribute('aria-invalid')).toBe('true')
  expect(await email.getAttribute('aria-describedby')).toBe('donation-email-error')
  const amount = page.getByLabel(/Your amount/)
  expect(await page.locator('#donation-customAmount-error').innerText()).toMatch(/smallest gift/i)
  expect(await amount.getAttribute('aria-describedby')).toBe('donation-customAmount-error')
  expect(await page.getByLabel('Your name').getAttribute('aria-invalid')).toBeNull()
  // What was typed is still there, and the labels still follow it.
  expect(await page.getByLabel('Your name').inputValue()).toBe('Keeps Typing')
  expect(await amount.inputValue()).toBe('0.50')
  expect(await page.getByLabel('Other amount').isChecked()).toBe(true)
  await expectAccessible(page)

  // A link in the summary takes focus to its field.
  await summary.getByRole('link', { name: /Enter your email address/ }).click()
  expect((await focusedElement(page)).id).toBe('donation-email')

  // After the first check, typing checks again: a fixed field loses its error, the others keep theirs.
  await email.fill('keeps.typing@example.org')
  await expect.poll(() => page.locator('#donation-email-error').count()).toBe(0)
  expect(await email.getAttribute('aria-invalid')).toBeNull()
  expect(await email.getAttribute('aria-describedby')).toBeNull()
  expect(await page.locator('#donation-customAmount-error').count()).toBe(1)
  await amount.fill('5')
  await expect.poll(() => summary.count()).toBe(0)

  // Now the form is fine, the submit goes to the server.
  await expect.poll(() => page.getByRole('button', { name: /^Donate/ }).innerText()).toBe('Donate £5')
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForURL(/\/dev\/checkout\//)
  expect(posts).toHaveLength(1)
  expect(errors).toEqual([])
  await context.close()
})

test("donating: the server's refusal shows in the summary, which takes focus, and the values stay", async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const posts = recordPosts(page)
  const errors = trackErrors(page)
  await page.goto(APPEAL)
  await waitForHydration(page)
  await loadTheCheck(page, 'Your name', /donation-validation-[A-Z0-9]+\.js$/)

  await page.getByLabel('Your name').fill('Robot Maybe')
  await page.getByLabel(/Your email address/).fill('robot@example.org')
  await page.getByLabel('Show my name').check()
  // Only the server judges the honeypot, so this submit passes the browser's check.
  await page.locator('#donation-website').fill('http://spam.example', { force: true })
  await page.getByRole('button', { name: /^Donate/ }).click()

  await expect.poll(() => focusedElement(page)).toEqual({ id: '', className: 'error-summary' })
  expect(posts).toHaveLength(1)
  expect(await page.locator('.error-summary').innerText()).toContain('We could not take your donation')
  expect(await page.locator('#donation').getAttribute('aria-describedby')).toBe('donation-error')
  expect(await page.getByLabel('Your name').inputValue()).toBe('Robot Maybe')
  expect(await page.getByLabel(/Your email address/).inputValue()).toBe('robot@example.org')
  expect(await page.getByLabel('Show my name').isChecked()).toBe(true)
  expect(errors).toEqual([])
  await context.close()
})

test('registering: errors beside the fields, focus on the summary, and a ticked box clears its error', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const posts = recordPosts(page)
  const errors = trackErrors(page)
  await page.goto(EVENT)
  await waitForHydration(page)
  await loadTheCheck(page, 'Your name', /registration-validation-[A-Z0-9]+\.js$/)

  await page.getByLabel(/Your email/).fill('not-an-address')
  await page.getByRole('button', { name: 'Register' }).click()

  await expect.poll(() => focusedElement(page)).toEqual({ id: '', className: 'error-summary' })
  expect(posts).toEqual([])
  const consent = page.getByLabel(/I agree to the/)
  expect(await page.locator('#registration-name-error').innerText()).toContain('Enter your name')
  expect(await page.locator('#registration-email-error').innerText()).toContain('in the right format')
  expect(await page.locator('#registration-privacyConsent-error').innerText()).toContain('privacy notice')
  expect(await consent.getAttribute('aria-invalid')).toBe('true')
  expect(await consent.getAttribute('aria-describedby')).toBe('registration-privacyConsent-error')
  expect(await page.getByLabel(/Your email/).inputValue()).toBe('not-an-address')
  await expectAccessible(page)

  await consent.check()
  await expect.poll(() => page.locator('#registration-privacyConsent-error').count()).toBe(0)
  expect(await consent.getAttribute('aria-invalid')).toBeNull()
  expect(await page.locator('#registration-name-error').count()).toBe(1)
  expect(errors).toEqual([])
  await context.close()
})

test('registering without JavaScript: the server renders the errors beside the fields, pointed at by the fields', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await page.goto(EVENT)
  await page.getByLabel('Your name').fill('No Script')
  await page.getByRole('button', { name: 'Register' }).click()
  await page.waitForLoadState()
  expect(new URL(page.url()).pathname).toBe(EVENT)
  expect(await page.getByLabel('Your name').inputValue()).toBe('No Script')
  expect(await page.getByLabel('Your name').getAttribute('aria-invalid')).toBeNull()
  const email = page.getByLabel(/Your email/)
  expect(await email.getAttribute('aria-invalid')).toBe('true')
  expect(await email.getAttribute('aria-describedby')).toBe('registration-email-error')
  expect(await page.locator('#registration-email-error').innerText()).toContain('Enter your email address')
  expect(await page.locator('.error-summary').innerText()).toContain('Please agree to the privacy notice')
  await context.close()
})
