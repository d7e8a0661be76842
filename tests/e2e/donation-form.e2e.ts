import type { Browser, Page, Response } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { baseUrl, expectAccessible, launchBrowser, newContext, waitForHydration } from './browser.ts'

/**
 * Issue 13, the donation form: back from the payment page it is filled in again in the browser
 * that typed it (and only there), with the notice at the top of the form; a typed amount wins over
 * a ticked one; the fee is described by its rule without JavaScript; amounts may carry the
 * currency's symbol and commas; a ceiling with whom to ask; Gift Aid in one tick and one name.
 */

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

const APPEAL = '/appeals/walk-again-yusuf'

async function open(page: Page, javaScript: boolean) {
  const response = await page.goto(APPEAL)
  if (javaScript) await waitForHydration(page)
  return response
}

async function focusedId(page: Page) {
  return page.evaluate(() => document.activeElement?.id ?? null)
}

/** Whether the element's top is on screen where the page now stands. */
async function inView(page: Page, selector: string) {
  return page.evaluate((css) => {
    const top = document.querySelector(css)?.getBoundingClientRect().top
    return top !== undefined && top >= -1 && top < window.innerHeight
  }, selector)
}

async function formValues(page: Page) {
  return {
    other: await page.getByLabel('Other amount').isChecked(),
    amount: await page.getByLabel(/Your amount/).inputValue(),
    coverFee: await page.getByLabel(/Cover the/).isChecked(),
    name: await page.getByLabel('Your name').inputValue(),
    email: await page.getByLabel(/Your email address/).inputValue(),
    message: await page.getByLabel(/A message of support/).inputValue(),
    showName: await page.getByLabel('Show my name').isChecked(),
    giftAid: await page.getByLabel(/Yes, add Gift Aid/).isChecked(),
    house: await page.getByLabel('House name or number').inputValue(),
    address: await page.getByLabel('Address', { exact: true }).inputValue(),
    postcode: await page.getByLabel('Postcode').inputValue(),
  }
}

describe.each([
  { javaScript: true, label: 'with JavaScript' },
  { javaScript: false, label: 'without JavaScript' },
])('back from the payment page $label', ({ javaScript }) => {
  test('restores the form in the same browser only, with the notice at the top of the form', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    const email = `e2e-back-${javaScript ? 'js' : 'nojs'}-${Date.now()}@example.org`
    await open(page, javaScript)
    await page.getByLabel('Other amount').check()
    await page.getByLabel(/Your amount/).fill('12.34')
    await page.getByLabel(/Cover the/).check()
    await page.getByLabel('Your name').fill('Amina Back')
    await page.getByLabel(/Your email address/).fill(email)
    await page.getByLabel(/A message of support/).fill('Stay strong')
    await page.getByLabel('Show my name').check()
    await page.getByLabel(/Yes, add Gift Aid/).check()
    await page.getByLabel('House name or number').fill('12')
    await page.getByLabel('Address', { exact: true }).fill('High Street, Leeds')
    await page.getByLabel('Postcode').fill('ls1 4ap')
    await page.getByRole('button', { name: /^Donate/ }).click()
    await page.waitForURL(/\/dev\/checkout\//)
    await expect.poll(() => page.locator('h1').innerText()).toBe('Pay £12.74')

    // "Go back without paying": Stripe's cancel_url.
    await page.getByRole('button', { name: 'Go back without paying' }).click()
    await page.waitForURL(/checkout=cancelled/)
    await expect.poll(() => page.getByLabel('Your name').inputValue()).toBe('Amina Back')
    const restored = {
      other: true,
      amount: '12.34',
      coverFee: true,
      name: 'Amina Back',
      email,
      message: 'Stay strong',
      showName: true,
      giftAid: true,
      house: '12',
      address: 'High Street, Leeds',
      postcode: 'LS1 4AP',
    }
    expect(await formValues(page)).toEqual(restored)
    const notice = page.locator('#checkout-return')
    expect(await notice.innerText()).toMatch(/no money was taken.*filled in below/s)
    // The notice sits at the top of the form, and the page opens there.
    expect(await page.evaluate(() => document.querySelector('#checkout-return')?.nextElementSibling?.id)).toBe('donation')
    if (javaScript) await expect.poll(() => focusedId(page)).toBe('checkout-return')
    else expect(new URL(page.url()).hash).toBe('#checkout-return')
    expect(await inView(page, '#checkout-return')).toBe(true)
    if (javaScript) await expectAccessible(page)

    // The browser's own Back button from the payment page restores it too.
    await page.getByRole('button', { name: /^Give .* monthly$|^Donate/ }).click()
    await page.waitForURL(/\/dev\/checkout\//)
    await page.goBack()
    await page.waitForURL(/\/appeals\//)
    await expect.poll(() => page.getByLabel('Your name').inputValue()).toBe('Amina Back')
    expect(await formValues(page)).toEqual(restored)

    // Nothing is kept for anyone else: the page is private and never stored.
    const reload = await page.reload()
    expect(reload?.headers()['cache-control']).toBe('private, no-store')

    // A second browser at the very same address sees an empty form.
    const other = await newContext(browser, { javaScriptEnabled: javaScript })
    const otherPage = await other.newPage()
    await otherPage.goto(page.url())
    if (javaScript) await waitForHydration(otherPage)
    expect(await otherPage.getByLabel('Your name').inputValue()).toBe('')
    expect(await otherPage.getByLabel(/Your email address/).inputValue()).toBe('')
    expect(await otherPage.getByLabel('Postcode').inputValue()).toBe('')
    expect(await otherPage.getByLabel(/Yes, add Gift Aid/).isChecked()).toBe(false)
    await other.close()
    await context.close()
  })
})

/** The script nonce of a page's response: a new one on every response, so the same one is the same copy. */
function nonceOf(response: Response | null) {
  return /'nonce-([^']+)'/.exec(response?.headers()['content-security-policy'] ?? '')?.[1]
}

test('with JavaScript: a Back the browser serves from its stored copy (rendered before the checkout) still brings the form back, from an answer nobody may store', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const first = await open(page, true)
  await page.getByLabel('Your name').fill('Cached Back')
  await page.getByLabel(/Your email address/).fill(`e2e-cached-${Date.now()}@example.org`)
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForURL(/\/dev\/checkout\//)
  // Back from the payment page (a document of its own, as Stripe's is): the browser shows the copy
  // it stored of the page before the checkout, an empty form, and the page asks its loader again.
  // The answer is read from the response event, not from goBack(): goBack() reports the first
  // navigation it sees, and when the page being left has not finished starting, that is its
  // router writing its state into history (same-document, no response): the "missing header" of
  // earlier runs was that null.
  const shown = page.waitForResponse((response) => response.request().resourceType() === 'document' && new URL(response.url()).pathname === APPEAL)
  const restoring = page.waitForResponse((response) => response.request().method() === 'GET' && new URL(response.url()).pathname === `${APPEAL}.data`)
  await page.goBack()
  const back = await shown
  expect(nonceOf(back), 'the copy stored before the checkout').toBe(nonceOf(first))
  // Stored because it was anonymous, and kept only if asked again before it is shown.
  expect(back.headers()['cache-control']).toBe('no-cache')
  // The answer that carries this browser's details is never stored, by the browser, a proxy or
  // the page cache (issue 13: a restored page is never served from or put into the page cache).
  const restored = await restoring
  expect(restored.headers()['cache-control']).toBe('private, no-store')
  expect(restored.headers()['x-page-cache']).toBeUndefined()
  await expect.poll(() => page.getByLabel('Your name').inputValue()).toBe('Cached Back')
  // Once more after another document: the same stored copy, and the form comes back again.
  await page.goto('/about')
  const shownAgain = page.waitForResponse((response) => response.request().resourceType() === 'document' && new URL(response.url()).pathname === APPEAL)
  await page.goBack()
  expect(nonceOf(await shownAgain)).toBe(nonceOf(first))
  await expect.poll(() => page.getByLabel('Your name').inputValue()).toBe('Cached Back')
  // Nobody else is given it: the page as an anonymous visitor gets it holds no trace of it.
  const anonymous = await fetch(new URL(APPEAL, baseUrl()))
  expect(await anonymous.text()).not.toContain('Cached Back')
  await context.close()
})

test('with JavaScript: Back from the payment page into the back/forward cache leaves no button stuck on "Taking you to payment…", and a changed gift goes as the new amount', async () => {
  const cachingBrowser = await launchBrowser({ backForwardCache: true })
  try {
    const context = await newContext(cachingBrowser)
    await context.addInitScript(() => {
      window.addEventListener('pageshow', (event) => {
        ;(window as unknown as { restoredFromCache?: boolean }).restoredFromCache = event.persisted
      })
    })
    const page = await context.newPage()
    await open(page, true)
    await page.getByLabel('Your name').fill('Frozen Back')
    await page.getByLabel(/Your email address/).fill(`e2e-bfcache-${Date.now()}@example.org`)
    const submissionId = page.locator('input[name="submissionId"]')
    const firstSubmissionId = await submissionId.inputValue()
    const button = page.locator('.donation-form__submit')
    await button.click()
    await page.waitForURL(/\/dev\/checkout\//)
    expect(await page.locator('h1').innerText()).toMatch(/^Pay £/)

    // A page restored from the back/forward cache fires no load event: committed is arrived.
    await page.goBack({ waitUntil: 'commit' })
    expect(new URL(page.url()).pathname).toBe(APPEAL)
    await expect.poll(() => page.evaluate(() => (window as unknown as { restoredFromCache?: boolean }).restoredFromCache)).toBe(true)
    await expect.poll(() => button.innerText()).toMatch(/^Donate/)
    expect(await button.isDisabled()).toBe(false)
    // The page asked again: the notice, this browser's values, and a new submission id, so a
    // changed gift is a new donation rather than the checkout already started.
    await expect.poll(() => page.locator('#checkout-return').count()).toBe(1)
    expect(await page.getByLabel('Your name').inputValue()).toBe('Frozen Back')
    expect(await submissionId.inputValue()).not.toBe(firstSubmissionId)
    await page.getByLabel('Other amount').check()
    await page.getByLabel(/Your amount/).fill('7')
    await button.click()
    await page.waitForURL(/\/dev\/checkout\//)
    expect(await page.locator('h1').innerText()).toBe('Pay £7.00')
  } finally {
    await cachingBrowser.close()
  }
})

test('without JavaScript: £50 ticked and 7 typed is a gift of £7; the fee is told by its rule', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await open(page, false)
  const fee = await page.getByLabel(/Cover the/).evaluate((input) => (input as HTMLInputElement).labels?.[0]?.textContent ?? '')
  expect(fee).toContain('1.5% + 20p')
  expect(fee).not.toMatch(/£0\.59|on £25/)
  expect(await page.getByLabel(/Your amount/).isVisible()).toBe(true)
  await page.getByLabel('£50', { exact: true }).check()
  await page.getByLabel(/Your amount/).fill('7')
  await page.getByLabel('Your name').fill('Typed Seven')
  await page.getByLabel(/Your email address/).fill(`e2e-seven-${Date.now()}@example.org`)
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForURL(/\/dev\/checkout\//)
  expect(await page.locator('h1').innerText()).toBe('Pay £7.00')
  await context.close()
})

test('with JavaScript: the box shows only for "Other amount", takes "£1,000.50", caps the button, and the fee is live', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  await open(page, true)
  const box = page.getByLabel(/Your amount/)
  const button = page.getByRole('button', { name: /^Donate/ })
  expect(await box.isVisible()).toBe(false)
  await page.getByLabel('Other amount').check()
  expect(await box.isVisible()).toBe(true)
  await box.fill('£1,000.50')
  await expect.poll(() => button.innerText()).toBe('Donate £1,000.50')
  await box.fill('99,999,999,999')
  await expect.poll(() => button.innerText()).toBe('Donate')
  // A suggestion chosen after typing is the gift: the box hides and is not sent.
  await page.getByLabel('£50', { exact: true }).check()
  expect(await box.isVisible()).toBe(false)
  await expect.poll(() => button.innerText()).toBe('Donate £50')
  const fee = page.getByLabel(/Cover the/)
  expect(await fee.evaluate((input) => (input as HTMLInputElement).labels?.[0]?.textContent ?? '')).toContain('add £0.97 to your gift of £50')

  await page.getByLabel('Other amount').check()
  await box.fill('99,999,999,999')
  await page.getByLabel('Your name').fill('Too Much')
  await page.getByLabel(/Your email address/).fill('too.much@example.org')
  await button.click()
  await expectCeilingMessage(page)
  await expectAccessible(page)
  await context.close()
})

/** The ceiling's message, beside the box and in the summary, with "contact us" a link to /contact. */
async function expectCeilingMessage(page: Page) {
  const summary = page.locator('.error-summary')
  await expect.poll(() => summary.count()).toBe(1)
  expect(await summary.getByRole('link', { name: 'The largest gift we can take online is £25,000.', exact: true }).getAttribute('href')).toBe(
    '#donation-customAmount',
  )
  expect(await summary.getByRole('link', { name: 'contact us', exact: true }).getAttribute('href')).toBe('/contact')
  const fieldError = page.locator('#donation-customAmount-error')
  expect(await fieldError.innerText()).toContain('The largest gift we can take online is £25,000. For a larger gift, please contact us')
  expect(await fieldError.getByRole('link', { name: 'contact us', exact: true }).getAttribute('href')).toBe('/contact')
  expect(new URL(page.url()).pathname).toBe(APPEAL)
}

test('without JavaScript: an amount over the ceiling says so, with "contact us" a link to the contact page', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await open(page, false)
  await page.getByLabel('Other amount').check()
  await page.getByLabel(/Your amount/).fill('99,999,999,999')
  await page.getByLabel('Your name').fill('Too Much')
  await page.getByLabel(/Your email address/).fill('too.much@example.org')
  await page.getByRole('button', { name: /^Donate/ }).click()
  await expectCeilingMessage(page)
  await context.close()
})

describe.each([
  { javaScript: true, label: 'with JavaScript' },
  { javaScript: false, label: 'without JavaScript' },
])('Gift Aid $label', ({ javaScript }) => {
  test('one tick and the name given once; a one-word name is asked for in full', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    await open(page, javaScript)
    expect(await page.getByLabel('Full name').count()).toBe(0)
    expect(await page.getByLabel(/UK taxpayer/).count()).toBe(1)
    await page.getByLabel('Your name').fill('Maryam')
    await page.getByLabel(/Your email address/).fill(`e2e-giftaid-${Date.now()}@example.org`)
    await page.getByLabel(/Yes, add Gift Aid: I am a UK taxpayer and I agree to the declaration/).check()
    await page.getByLabel('House name or number').fill('12')
    await page.getByLabel('Address', { exact: true }).fill('High Street, Leeds')
    await page.getByLabel('Postcode').fill('LS1 4AP')
    await page.getByRole('button', { name: /^Donate/ }).click()
    const nameError = page.locator('#donation-name-error')
    await expect.poll(() => nameError.count()).toBe(1)
    expect(await nameError.innerText()).toMatch(/full name, with your first name and surname/)
    expect(await page.locator('.error-summary a[href="#donation-name"]').count()).toBe(1)
    await page.getByLabel('Your name').fill('Maryam Ahmed')
    await page.getByRole('button', { name: /^Donate/ }).click()
    await page.waitForURL(/\/dev\/checkout\//)
    await context.close()
  })
})
