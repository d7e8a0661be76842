import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { expect, inject } from 'vitest'
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium.ts'

/**
 * Debian's chromium, headless, with nothing that phones home. Playwright turns the back/forward
 * cache off; `backForwardCache` leaves it on, as every browser people use has it.
 */
export function launchBrowser(options: { backForwardCache?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--disable-quic'],
    ignoreDefaultArgs: options.backForwardCache ? ['--disable-back-forward-cache'] : undefined,
  })
}

export function baseUrl() {
  return inject('baseUrl')
}

export async function newContext(browser: Browser, options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({ baseURL: baseUrl(), javaScriptEnabled: options.javaScriptEnabled ?? true })
}

/** Every request the page makes, so a test can prove none leaves our origin. */
export function recordRequests(page: Page) {
  const urls: string[] = []
  page.on('request', (request) => urls.push(request.url()))
  return urls
}

/** Fails on any serious or critical accessibility violation that axe finds on the page. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)
  expect(serious, `axe violations on ${page.url()}`).toEqual([])
}

/**
 * Waits until React has hydrated the page (the router is ready and the main element carries
 * React's props), so a click runs the page's own handlers rather than posting the JavaScript-off way.
 */
export async function waitForHydration(page: Page) {
  await page.waitForFunction(() => {
    const router = (window as unknown as { __remixRouter?: { state: { initialized: boolean } } }).__remixRouter
    const main = document.querySelector('main') ?? document.body
    return router?.state.initialized === true && Object.keys(main).some((key) => key.startsWith('__reactProps'))
  })
}

/** Opens the development mailbox and waits until an email to `email` is listed; returns its row. */
export async function waitForEmailTo(page: Page, email: string) {
  await page.goto('/dev/mailbox')
  await expect
    .poll(
      async () => {
        await page.reload()
        return page.locator('tr', { hasText: email }).count()
      },
      { timeout: 20_000 },
    )
    .toBeGreaterThan(0)
  return page.locator('tr', { hasText: email }).first()
}

/**
 * With SCREENSHOTS=before or after, saves what the window shows as
 * docs/screenshots/<name>-<before|after>-<width>.png (the window only, so each stays small);
 * otherwise does nothing.
 */
export async function screenshot(page: Page, name: string) {
  const when = process.env.SCREENSHOTS
  if (when !== 'before' && when !== 'after') return
  const folder = path.resolve('docs/screenshots')
  await mkdir(folder, { recursive: true })
  await page.screenshot({ path: path.join(folder, `${name}-${when}-${page.viewportSize()!.width}.png`) })
}

/** The two widths the look tests check and photograph: a phone and a laptop. */
export const LOOK_WIDTHS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
]

/** A page at this size, with or without JavaScript, with motion reduced (nothing moves while measured). */
export async function openAt(browser: Browser, viewport: { width: number; height: number }, javaScriptEnabled: boolean) {
  const context = await browser.newContext({ baseURL: baseUrl(), viewport, javaScriptEnabled, reducedMotion: 'reduce' })
  return { context, page: await context.newPage() }
}

/** Where an element's box starts relative to the top of the window, as the person first sees it. */
export function top(locator: Locator) {
  return locator.evaluate((element) => element.getBoundingClientRect().top)
}

/** The signed link to a place, and the email's text, from the newest email to this address in the development mailbox. */
export async function placeLinkFromEmail(page: Page, email: string) {
  await (await waitForEmailTo(page, email)).getByRole('link').first().click()
  const text = await page.getByTestId('email-text').innerText()
  const link = /https?:\/\/\S+\/registrations\/[0-9a-f-]+\?signature=[\w-]+/.exec(text)?.[0]
  expect(link).toBeTruthy()
  return { link: link!, text }
}

/** A name of letters only (names may be checked for digits), different on every run. */
export function uniqueLetters(length = 8) {
  return Array.from({ length }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')
}

/**
 * A new supporter, in a browser context of their own, registers for a free event through its page
 * (the same "check your email" answer for everyone, docs/decisions/021) and opens their
 * confirmation email in the development mailbox. The caller closes the context.
 */
export async function registerAndOpenConfirmation(browser: Browser, slug: string, label: string) {
  const name = `${label} ${uniqueLetters()}`
  const email = `e2e-${label.toLowerCase()}-${Date.now()}@example.org`
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto(`/events/${slug}`)
  await page.getByLabel('Your name').fill(name)
  await page.getByLabel(/Your email/).fill(email)
  await page.getByLabel(/I agree to the/).check()
  await page.getByRole('button', { name: 'Register' }).click()
  await page.waitForURL(/\/registered$/)
  await expect.poll(() => page.getByRole('status').innerText()).toContain('We have sent an email')
  await waitForEmailTo(page, email)
  await page.locator('tr', { hasText: email }).getByRole('link', { name: /Your place is confirmed/ }).click()
  return { context, page, name, email }
}
