import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { expectAccessible, launchBrowser, newContext } from './browser.ts'
import { signInWithRequest } from './demo-admin.ts'

/**
 * Issue 13, staff who use it every day: every staff page fits a 1280 px screen and a 390 px
 * phone without scrolling sideways, its form controls are styled, and axe passes; the dashboard
 * opens with its headline figures, and its totals are cards on a phone.
 */

let browser: Browser
let context: BrowserContext
let page: Page
/** Every staff page an administrator can open, with one appeal, donation and event of the demo data. */
let paths: string[] = []

beforeAll(async () => {
  browser = await launchBrowser()
  context = await newContext(browser)
  page = await context.newPage()
  // The password, then the demo administrator's TOTP code (docs/decisions/020), through the
  // context's requests (its cookie jar is the pages'): expect.poll cannot run in beforeAll.
  await signInWithRequest(context.request)
  await page.goto('/staff')

  const firstHref = async (path: string, selector: string) => {
    await page.goto(path)
    const href = await page.locator(selector).first().getAttribute('href')
    if (!href) throw new Error(`No link ${selector} on ${path}`)
    return href
  }
  const donation = await firstHref('/staff/donations', 'tbody a[href^="/staff/donations/"]')
  const appeal = await firstHref('/staff/appeals', 'tbody a[href^="/staff/appeals/"]:not([href$="/updates"])')
  const event = await firstHref('/staff/events', 'tbody a[href^="/staff/events/"]')
  paths = [
    '/staff',
    '/staff/appeals',
    '/staff/appeals/new',
    appeal,
    `${appeal}/updates`,
    '/staff/donations',
    donation,
    '/staff/gift-aid',
    '/staff/events',
    '/staff/events/new',
    event,
    `${event}/edit`,
    `${event}/check-in`,
    '/staff/emails',
    '/staff/payment-events',
    '/staff/supporters',
    '/staff/audit',
    '/staff/users',
  ]
}, 120_000)

afterAll(async () => {
  await context?.close()
  await browser?.close()
})

/** What would make a staff page awkward at this width: sideways scrolling, bare controls, shown hidden text. */
async function layoutProblems() {
  return page.evaluate(() => {
    const problems: string[] = []
    const { scrollWidth } = document.documentElement
    if (scrollWidth > window.innerWidth) problems.push(`the page is ${scrollWidth} px wide`)
    const visible = (element: Element) => element.getBoundingClientRect().width > 0 && getComputedStyle(element).visibility !== 'hidden'
    for (const control of document.querySelectorAll<HTMLElement>('main input:not([type=hidden]), main select, main textarea')) {
      if (!visible(control)) continue
      const style = getComputedStyle(control)
      const type = control.getAttribute('type')
      const name = `${control.tagName.toLowerCase()}#${control.id || control.getAttribute('name')}`
      if (type === 'checkbox' || type === 'radio') {
        // A browser's own box is 13 px: too small to hit on a phone.
        if (control.getBoundingClientRect().width < 20) problems.push(`${name} is the browser's bare ${type}`)
      } else if (type !== 'file' && (parseFloat(style.fontSize) < 16 || parseFloat(style.borderTopWidth) < 2)) {
        problems.push(`${name} is unstyled (${style.fontSize}, border ${style.borderTopWidth})`)
      }
    }
    for (const hidden of document.querySelectorAll('.visually-hidden')) {
      if (hidden.getBoundingClientRect().width > 1) problems.push(`visually hidden text is shown: “${hidden.textContent?.trim()}”`)
    }
    return problems
  })
}

for (const width of [1280, 390]) {
  test(`at ${width} px every staff page fits without scrolling sideways, its controls are styled, and axe passes`, { timeout: 300_000 }, async () => {
    await page.setViewportSize({ width, height: 900 })
    const problems: string[] = []
    for (const path of paths) {
      const response = await page.goto(path)
      expect(response?.status(), path).toBe(200)
      problems.push(...(await layoutProblems()).map((problem) => `${path}: ${problem}`))
      await expectAccessible(page)
    }
    expect(problems).toEqual([])
  })
}

test('the dashboard opens with its headline figures; its tables fit at 1280 px and are cards on a phone', async () => {
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto('/staff')
  const figures = page.locator('dl.staff-figures > div')
  const labels = await figures.locator('dt').allInnerTexts()
  expect(labels).toEqual([
    expect.stringMatching(/^Net raised in [A-Z][a-z]+ \d{4}$/),
    'Net raised in total',
    'Supporters who have given',
    'Active monthly gifts',
    expect.stringMatching(/^Gift Aid to claim, \d{4}–\d{2}$/),
  ])
  for (const value of await figures.locator('.staff-figure__value').allInnerTexts()) expect(value).toMatch(/\d/)
  // The figures come before the first table.
  const order = await page.evaluate(() => {
    const figures = document.querySelector('.staff-figures')!
    const table = document.querySelector('main table')!
    return Boolean(figures.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING)
  })
  expect(order).toBe(true)
  // No column is cut off: each totals table fits its box.
  const cut = await page.locator('.table-scroll').evaluateAll((boxes) =>
    boxes.filter((box) => box.getBoundingClientRect().width > 0 && box.scrollWidth > box.clientWidth).map((box) => box.getAttribute('aria-label')),
  )
  expect(cut).toEqual([])
  // One "Appeals" link: the staff navigation's, not the public one's as well.
  expect(await page.getByRole('link', { name: 'Appeals', exact: true }).count()).toBe(1)

  await page.setViewportSize({ width: 390, height: 900 })
  await page.reload()
  expect(await page.locator('table.staff-totals').first().isVisible()).toBe(false)
  const cards = page.getByRole('region', { name: 'Totals by appeal' }).locator('.staff-card')
  expect(await cards.count()).toBeGreaterThan(0)
  expect(await cards.first().innerText()).toMatch(/Net\s+\S*\d/)
})
