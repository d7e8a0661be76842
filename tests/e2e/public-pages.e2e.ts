import http from 'node:http'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { baseUrl, expectAccessible, launchBrowser, newContext, recordRequests } from './browser.ts'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

const publicPages = ['/', '/appeals', '/events', '/about']

describe.each([
  { javaScript: true, label: 'with JavaScript' },
  { javaScript: false, label: 'without JavaScript' },
])('public pages $label', ({ javaScript }) => {
  test('the home page shows the mission, the testimonials, featured appeals and upcoming events', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    await page.goto('/')
    await expect.poll(() => page.locator('h1').textContent()).toContain('War on Terror')
    const text = await page.locator('main').innerText()
    expect(text).toContain('Our mission is to highlight and campaign')
    expect(text).toContain('Gareth Peirce')
    expect(text).toContain('Uighur former Guantanamo prisoner, Palau')
    expect(text).toContain('Help Yusuf walk again')
    expect(text).toContain('Witness: an evening of testimonies from former detainees')
    expect(text).not.toContain('Annual fundraising dinner')
    if (javaScript) {
      // Hydration finished without a mismatch or a script error.
      await page.waitForLoadState('networkidle')
    }
    expect(pageErrors).toEqual([])
    await context.close()
  })

  test('the header links lead to the appeals, events and about pages', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    await page.goto('/')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Events' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Events')
    expect(new URL(page.url()).pathname).toBe('/events')
    await expect.poll(() => page.getByRole('heading', { name: 'Past events' }).count()).toBe(1)
    expect(await page.locator('main').innerText()).toContain('Annual fundraising dinner')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Appeals' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Appeals')
    expect(await page.locator('main').innerText()).toContain("Rebuild Samir's family home")

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'About' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('About CAGE')
    await context.close()
  })

  test('every public page loads and requests nothing from another origin', async () => {
    const context = await newContext(browser, { javaScriptEnabled: javaScript })
    const page = await context.newPage()
    const requests = recordRequests(page)
    for (const path of publicPages) {
      const response = await page.goto(path)
      expect(response?.status(), path).toBe(200)
      // axe runs as a script in the page, so it checks the pages once, with JavaScript on.
      if (javaScript) await expectAccessible(page)
    }
    const origin = new URL(baseUrl()).origin
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([])
    await context.close()
  })
})

test('an unknown address shows the not-found page with a 404 status', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  const response = await page.goto('/no-such-page')
  expect(response?.status()).toBe(404)
  expect(await page.locator('h1').textContent()).toBe('We could not find that page')
  await expectAccessible(page)
  await context.close()
})

test('keyboard users can skip straight to the main content', async () => {
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto('/')
  await page.keyboard.press('Tab')
  const focused = page.locator(':focus')
  expect(await focused.textContent()).toBe('Skip to main content')
  await page.keyboard.press('Enter')
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
  await context.close()
})

test('a form post from another site is refused with 403 on every route, before any action runs', async () => {
  const context = await newContext(browser)
  for (const path of ['/staff/sign-in', '/events/save', '/appeals/walk-again-yusuf', '/dev/mailbox/test-email']) {
    const response = await context.request.post(path, {
      headers: { Origin: 'https://evil.example' },
      form: { email: 'x@example.org' },
      maxRedirects: 0,
    })
    expect(response.status(), path).toBe(403)
  }
  // Webhooks come from servers, with no Origin: they reach their handlers (which then check signatures).
  const webhook = await context.request.post('/webhooks/stripe', { data: '{}', headers: { 'content-type': 'application/json' } })
  expect(webhook.status()).toBe(400)
  await context.close()
})

test('an anonymous appeal page comes from the page cache, each copy with its own submission id; a cookie bypasses it', async () => {
  const url = `${baseUrl()}/appeals/walk-again-yusuf`
  const submissionIdOf = (html: string) => /name="submissionId"[^>]*value="([0-9a-f-]{36})"|value="([0-9a-f-]{36})"[^>]*name="submissionId"/.exec(html)?.slice(1).find(Boolean)
  const views = []
  for (let index = 0; index < 4; index += 1) {
    // A client cannot choose the id through the server's internal header.
    const response = await fetch(url, { headers: { 'x-sanad-submission-id': '00000000-0000-4000-8000-000000000000' } })
    expect(response.status).toBe(200)
    views.push({ cache: response.headers.get('x-page-cache'), id: submissionIdOf(await response.text()) })
  }
  expect(views.some((view) => view.cache === 'hit')).toBe(true)
  const ids = views.map((view) => view.id)
  expect(ids.every((id) => id !== undefined && id !== '00000000-0000-4000-8000-000000000000')).toBe(true)
  expect(new Set(ids).size).toBe(ids.length)

  // Browsers ask for gzip: a cached copy comes compressed, with the same page inside.
  const gzipped = await fetch(url, { headers: { 'accept-encoding': 'gzip' } })
  expect(gzipped.headers.get('x-page-cache')).toBe('hit')
  expect(gzipped.headers.get('content-encoding')).toBe('gzip')
  expect(gzipped.headers.get('vary')).toMatch(/Accept-Encoding/i)
  expect(submissionIdOf(await gzipped.text())).toMatch(/^[0-9a-f-]{36}$/)

  // A request naming another host is never cached or served from the cache, and its page still
  // links to APP_URL, never to the host it named (docs/decisions/022).
  const forged = await new Promise<{ cache: string | undefined; body: string }>((resolve, reject) => {
    http
      .get(url, { headers: { host: 'attacker.example' } }, (response) => {
        let body = ''
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve({ cache: response.headers['x-page-cache'] as string | undefined, body }))
      })
      .on('error', reject)
  })
  expect(forged.cache).toBeUndefined()
  expect(forged.body).not.toContain('attacker.example')
  expect(await (await fetch(url)).text()).not.toContain('attacker.example')

  const withCookie = await fetch(url, { headers: { cookie: 'something=1' } })
  expect(withCookie.headers.get('x-page-cache')).toBeNull()
  const withQuery = await fetch(`${url}?checkout=cancelled`)
  expect(withQuery.headers.get('x-page-cache')).toBeNull()
})
