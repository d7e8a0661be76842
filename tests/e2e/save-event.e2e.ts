import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { baseUrl, expectAccessible, launchBrowser, newContext, recordRequests, waitForEmailTo } from './browser.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

/** What the button says and whether it is pressed; the exact accessible name is checked apart. */
async function buttonState(button: Locator) {
  return {
    name: (await button.textContent())?.trim(),
    pressed: await button.getAttribute('aria-pressed'),
  }
}

/** Clicking before React has hydrated would post the form the JavaScript-off way. */
async function waitForHydration(page: Page) {
  await page.waitForLoadState('networkidle')
  await page.waitForFunction(() => {
    const router = (window as unknown as { __remixRouter?: { state: { initialized: boolean } } }).__remixRouter
    return router?.state.initialized === true
  })
}

function firstCard(page: Page) {
  return page.locator('main article.card').first()
}

/**
 * Presses a save button and waits for the server's answer. (waitForLoadState('networkidle') is no
 * use here: the page reached that state long ago, so it returns at once, and a reload straight
 * after would abandon the request.)
 */
async function pressAndWaitForServer(page: Page, button: Locator) {
  const answered = page.waitForResponse((response) => new URL(response.url()).pathname.startsWith('/events/save'))
  await button.click()
  expect((await answered).ok()).toBe(true)
}

function trackErrors(page: Page) {
  const errors: string[] = []
  // A request the browser abandons because the page moved on (a reload while a revalidation is
  // in flight) is not a fault of the page.
  page.on('pageerror', (error) => {
    if (error.name !== 'AbortError' && !error.message.startsWith('AbortError')) errors.push(error.message)
  })
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('AbortError')) errors.push(message.text())
  })
  return errors
}

async function savedCookies(context: BrowserContext) {
  return (await context.cookies()).filter((cookie) => cookie.name === 'sanad_saver')
}

describe('with JavaScript', () => {
  test('the button flips at once, without leaving the page, and the event is on /saved', async () => {
    const context = await newContext(browser, { javaScriptEnabled: true })
    const page = await context.newPage()
    const errors = trackErrors(page)
    const requests = recordRequests(page)

    await page.goto('/events')
    await waitForHydration(page)
    // Reading pages leaves nothing behind in the browser.
    expect(await context.cookies()).toEqual([])

    const card = firstCard(page)
    const title = (await card.getByRole('heading').innerText()).trim()
    const button = card.getByRole('button')
    expect(await buttonState(button)).toEqual({ name: 'Save this event', pressed: 'false' })
    // The name is the same on every card; the event title tells them apart as the description.
    expect(await card.getByRole('button', { name: 'Save this event', exact: true, description: title }).count()).toBe(1)

    const urlBefore = page.url()
    const documents: string[] = []
    page.on('request', (request) => {
      if (request.resourceType() === 'document') documents.push(request.url())
    })
    let navigations = 0
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1
    })
    const saved = page.waitForResponse((response) => new URL(response.url()).pathname.startsWith('/events/save'))
    await button.click()
    // Optimistic: the button reads "Event saved — remove" before (or as) the server answers.
    await expect.poll(() => buttonState(button)).toEqual({ name: 'Event saved — remove', pressed: 'true' })
    expect((await saved).ok()).toBe(true)
    await page.waitForLoadState('networkidle')
    expect(await buttonState(button)).toEqual({ name: 'Event saved — remove', pressed: 'true' })
    expect(page.url()).toBe(urlBefore)
    expect(documents).toEqual([])
    expect(navigations).toBe(0)
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Event saved — remove')
    expect(await card.getByRole('button', { name: 'Event saved — remove', exact: true, pressed: true, description: title }).count()).toBe(1)

    const [cookie] = await savedCookies(context)
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Lax')
    await expectAccessible(page)

    // The server kept it: a fresh load of the page shows it saved.
    await page.reload()
    await waitForHydration(page)
    expect(await buttonState(firstCard(page).getByRole('button'))).toEqual({ name: 'Event saved — remove', pressed: 'true' })

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Saved' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Saved events')
    expect(await page.title()).toBe('Saved events')
    await expect.poll(() => page.locator('main').innerText()).toContain(title)
    await expectAccessible(page)

    // Unsaving on /saved keeps the card where it is, so focus stays, and the person can undo.
    const savedButton = firstCard(page).getByRole('button')
    await pressAndWaitForServer(page, savedButton)
    await expect.poll(() => buttonState(savedButton)).toEqual({ name: 'Save this event', pressed: 'false' })
    expect(await page.locator('main').innerText()).toContain(title)
    await page.reload()
    await expect.poll(() => page.locator('main').innerText()).toContain('You have not saved any events yet')
    await expectAccessible(page)

    // Pressing again on /events unsaves there too.
    await page.goto('/events')
    await waitForHydration(page)
    const again = firstCard(page).getByRole('button')
    await pressAndWaitForServer(page, again)
    await expect.poll(() => buttonState(again)).toEqual({ name: 'Event saved — remove', pressed: 'true' })
    await pressAndWaitForServer(page, again)
    await expect.poll(() => buttonState(again)).toEqual({ name: 'Save this event', pressed: 'false' })
    await page.reload()
    expect(await buttonState(firstCard(page).getByRole('button'))).toEqual({ name: 'Save this event', pressed: 'false' })

    const origin = new URL(baseUrl()).origin
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('without JavaScript', () => {
  test('the form posts, comes back to the same page, and pressing again unsaves', async () => {
    const context = await newContext(browser, { javaScriptEnabled: false })
    const page = await context.newPage()
    const requests = recordRequests(page)

    await page.goto('/events?from=e2e')
    expect(await context.cookies()).toEqual([])
    const title = (await firstCard(page).getByRole('heading').innerText()).trim()
    expect(await buttonState(firstCard(page).getByRole('button'))).toEqual({ name: 'Save this event', pressed: 'false' })

    const postedAndBack = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/events' && response.request().method() === 'GET',
    )
    await firstCard(page).getByRole('button').click()
    expect((await postedAndBack).status()).toBe(200)
    await page.waitForLoadState('load')
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/events?from=e2e')
    expect(await buttonState(firstCard(page).getByRole('button'))).toEqual({ name: 'Event saved — remove', pressed: 'true' })
    expect(await savedCookies(context)).toHaveLength(1)

    await page.goto('/saved')
    expect(await page.locator('main').innerText()).toContain(title)

    // Unsaving from /saved comes back to /saved, now empty.
    const backToSaved = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/saved' && response.request().method() === 'GET',
    )
    await firstCard(page).getByRole('button').click()
    await backToSaved
    await page.waitForLoadState('load')
    expect(new URL(page.url()).pathname).toBe('/saved')
    expect(await page.locator('main').innerText()).toContain('You have not saved any events yet')

    // Save and unsave again from the events page.
    await page.goto('/events')
    for (const expected of [
      { name: 'Event saved — remove', pressed: 'true' },
      { name: 'Save this event', pressed: 'false' },
    ]) {
      const back = page.waitForResponse(
        (response) => new URL(response.url()).pathname === '/events' && response.request().method() === 'GET',
      )
      await firstCard(page).getByRole('button').click()
      await back
      await page.waitForLoadState('load')
      expect(await buttonState(firstCard(page).getByRole('button'))).toEqual(expected)
    }

    const origin = new URL(baseUrl()).origin
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([])
    await context.close()
  })
})

test('another site cannot save an event into a supporter’s browser', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto('/events')
  const eventId = await firstCard(page).locator('input[name="eventId"]').inputValue()
  const response = await context.request.post('/events/save', {
    form: { eventId, intent: 'save', redirectTo: '/events' },
    headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    maxRedirects: 0,
  })
  expect(response.status()).toBe(403)
  expect(await savedCookies(context)).toEqual([])
  await context.close()
})

test('the emailed link keeps this browser’s saved events with the address: the page’s form is posted with a real Origin', async () => {
  // The link page sends no Referer to other sites; with `no-referrer` the browser posted its form
  // with `Origin: null`, which the cross-site check refused, so no supporter could use a link.
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  const email = `keeps-saves-${Date.now()}@example.org`
  await page.goto('/saved')
  await page.getByLabel('Your email address').fill(email)
  await page.getByRole('button', { name: 'Email me the link' }).click()
  await page.waitForLoadState()
  const row = await waitForEmailTo(page, email)
  await row.getByRole('link').first().click()
  await page.getByRole('link', { name: 'View the email as the supporter sees it' }).click()
  await page.waitForURL('**/html')
  const href = await page.locator('a[href*="/saved/verify"]').first().getAttribute('href')
  expect(href).toBeTruthy()
  await page.goto(href!)
  await page.getByLabel('Type the email address this link was sent to').fill(email)
  const answered = page.waitForResponse((response) => response.request().method() === 'POST')
  await page.getByRole('button', { name: 'Link this browser to these saved events' }).click()
  expect((await answered).status()).toBeLessThan(400)
  await expect.poll(() => page.getByText('this browser now shows the saved events kept for your email address').count()).toBeGreaterThan(0)
  await context.close()
})
