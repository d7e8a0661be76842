import { readFile } from 'node:fs/promises'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { Secret, TOTP } from 'otpauth'
import { expectAccessible, launchBrowser, newContext, recordRequests, registerAndOpenConfirmation, uniqueLetters, waitForEmailTo, waitForHydration } from './browser.ts'
import { signInInBrowser } from './demo-admin.ts'

/**
 * A real 16×8 JPEG (left half red, right half blue) as a phone stores a portrait shot: pixels
 * sideways, EXIF saying "turn 90° clockwise" (Orientation 6) beside the make and place.
 */
const SIDEWAYS_PHONE_PHOTO = (() => {
  const jpeg = Buffer.from(
    '/9j/4AAQSkZJRgABAQAAAQABAAD/2wCEAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSgBBwcHCggKEwoKEygaFhooKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKP/AABEIAAgAEAMBEQACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/AOXr5I/Ujlq/oM/Dz//Z',
    'base64',
  )
  // Little-endian TIFF: IFD0 with Make (out of line) and Orientation 6.
  const make = Buffer.from('Phone at the safe house\0', 'latin1')
  const tiff = Buffer.alloc(8 + 2 + 2 * 12 + 4)
  tiff.write('II', 0, 'latin1')
  tiff.writeUInt16LE(42, 2)
  tiff.writeUInt32LE(8, 4)
  tiff.writeUInt16LE(2, 8)
  tiff.writeUInt16LE(0x010f, 10)
  tiff.writeUInt16LE(2, 12)
  tiff.writeUInt32LE(make.length, 14)
  tiff.writeUInt32LE(tiff.length, 18)
  tiff.writeUInt16LE(0x0112, 22)
  tiff.writeUInt16LE(3, 24)
  tiff.writeUInt32LE(1, 26)
  tiff.writeUInt16LE(6, 30)
  const data = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff, make])
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data])
  const afterJfif = 2 + 18
  return Buffer.concat([jpeg.subarray(0, afterJfif), app1, jpeg.subarray(afterJfif)])
})()

let browser: Browser
/** One signed-in staff context for the whole file: sign-in is rate limited per address and email. */
let staff: { context: BrowserContext; page: Page } | undefined

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await staff?.context.close()
  await browser?.close()
})

const APPEAL_SLUG = 'medical-care-karim'
const APPEAL_TITLE = 'Medical care for Karim after release'
const EVENT_SLUG = 'online-briefing-enforced-disappearances'
const EVENT_TITLE = 'Online briefing: enforced disappearances and how to respond'

/** The email of the gift made in the totals test, which the CSV test looks for. */
let donationEmail: string | undefined


/** The demo admin's password, then the code from their authenticator (worked out from the demo secret). */
async function signIn(page: Page) {
  await signInInBrowser(page)
  await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Campaign totals')
}

/** The signed-in staff page, signing in once if no earlier test did. */
async function staffPage(): Promise<Page> {
  if (!staff) {
    const context = await newContext(browser)
    const page = await context.newPage()
    await signIn(page)
    staff = { context, page }
  }
  return staff.page
}

/** "£1,234.50" → 123450 */
function toMinor(text: string): number {
  const match = /([\d,]+)(?:\.(\d{2}))?/.exec(text)
  expect(match, `an amount in “${text}”`).not.toBeNull()
  return Number(match![1]!.replace(/,/g, '')) * 100 + Number(match![2] ?? '0')
}

/** Gross, net and the number of donations of one appeal, read from the cells of /staff's first table. */
async function appealTotals(page: Page, title: string) {
  const row = page.locator('table.staff-totals').first().locator('tbody tr', { has: page.locator('th', { hasText: title }) })
  await row.waitFor()
  const cells = row.locator('td')
  return {
    grossMinor: toMinor(await cells.nth(0).innerText()),
    netMinor: toMinor(await cells.nth(3).innerText()),
    donations: Number((await cells.nth(4).innerText()).trim()),
  }
}

/** A one-off gift through the appeal form and the offline checkout, as a supporter (not signed in). */
async function donate(amountLabel: string, email: string, giftAid?: { fullName: string; house: string; address: string; postcode: string }) {
  const context = await newContext(browser)
  const page = await context.newPage()
  await page.goto(`/appeals/${APPEAL_SLUG}`)
  await page.getByLabel(amountLabel, { exact: true }).check()
  // Issue 13: Gift Aid takes the name given once, and one tick is the declaration.
  await page.getByLabel('Your name').fill(giftAid ? giftAid.fullName : 'Staff Totals E2E')
  await page.getByLabel(/Your email address/).fill(email)
  if (giftAid) {
    await page.getByLabel(/Yes, add Gift Aid: I am a UK taxpayer/).check()
    await page.getByLabel('House name or number').fill(giftAid.house)
    await page.getByLabel('Address', { exact: true }).fill(giftAid.address)
    await page.getByLabel('Postcode').fill(giftAid.postcode)
  }
  await page.getByRole('button', { name: /^Donate/ }).click()
  await page.waitForURL(/\/dev\/checkout\//)
  const pay = `Pay ${amountLabel}.00`
  await expect.poll(() => page.locator('h1').innerText()).toBe(pay)
  await page.getByRole('button', { name: pay }).click()
  await page.waitForURL(/\/donate\/thank-you\?session_id=cs_offline_/)
  await expect.poll(() => page.locator('h1').innerText()).toBe('Thank you')
  expect(await page.getByRole('status').innerText()).toContain(`${amountLabel}.00`)
  await context.close()
}


async function checkInMessage(page: Page): Promise<Locator> {
  const message = page.locator('#check-in-message')
  await message.waitFor()
  return message
}

test('the demo admin signs in with a password and sees the campaign totals', async () => {
  const page = await staffPage()
  const main = await page.locator('main').innerText()
  expect(main).toContain('Totals by appeal')
  expect(main).toContain(APPEAL_TITLE)
  expect(await page.getByText('Signed in as').innerText()).toContain('Demo Admin')
  await expectAccessible(page)
})

test('a gift made on the public site raises that appeal’s gross, net and count on /staff by exactly its amount', async () => {
  const page = await staffPage()
  await page.goto('/staff')
  const before = await appealTotals(page, APPEAL_TITLE)

  donationEmail = `e2e-staff-${Date.now()}@example.org`
  await donate('£30', donationEmail)

  // The webhook has already confirmed the gift when the thank-you page shows; poll all the same.
  await expect
    .poll(
      async () => {
        await page.reload()
        return appealTotals(page, APPEAL_TITLE)
      },
      { timeout: 15_000 },
    )
    .toEqual({ grossMinor: before.grossMinor + 3_000, netMinor: before.netMinor + 3_000, donations: before.donations + 1 })
})

test('the donations CSV export downloads with its header row and the new gift', async () => {
  const page = await staffPage()
  if (!donationEmail) {
    donationEmail = `e2e-staff-csv-${Date.now()}@example.org`
    await donate('£30', donationEmail)
  }
  // The page once failed to hydrate (it rendered a list from a .server module, empty in the browser).
  const pageErrors: string[] = []
  const onPageError = (error: Error) => pageErrors.push(error.message)
  page.on('pageerror', onPageError)
  await page.goto('/staff/donations')
  await expect.poll(() => page.locator('h1').innerText()).toBe('Donations')
  await waitForHydration(page)
  page.off('pageerror', onPageError)
  expect(pageErrors).toEqual([])
  await expectAccessible(page)
  expect(await page.locator('main').innerText()).toContain(donationEmail)

  const downloaded = page.waitForEvent('download')
  await page.getByRole('link', { name: 'Download these donations as CSV' }).click()
  const download = await downloaded
  expect(download.suggestedFilename()).toMatch(/^donations-\d{4}-\d{2}-\d{2}\.csv$/)
  const csv = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '')
  const [header, ...rows] = csv.split(/\r?\n/)
  expect(header).toBe('Date,Donation ID,Appeal,Donor name,Donor email,Amount,Fee covered,Refunded,Currency,Status,Frequency,Gift Aid')
  const row = rows.find((line) => line.includes(donationEmail!))
  expect(row, 'the new gift is in the export').toBeDefined()
  expect(row).toContain(APPEAL_TITLE)
  expect(row).toContain('30.00')
})

test('staff check a registrant in by name, and a second check-in with their emailed code says they already are', async () => {
  // A supporter registers for the free online briefing.
  const { context: supporter, page: public_, name } = await registerAndOpenConfirmation(browser, EVENT_SLUG, 'Checkin')
  // Their confirmation email carries the check-in code.
  const emailText = public_.getByTestId('email-text')
  await emailText.waitFor()
  const code = /Check-in code:?\s*(\S+)/.exec(await emailText.innerText())?.[1]
  expect(code, 'the confirmation email shows a check-in code').toBeTruthy()
  await supporter.close()

  const page = await staffPage()
  await page.goto('/staff/events')
  await page.getByRole('link', { name: EVENT_TITLE }).click()
  await expect.poll(() => page.locator('h1').innerText()).toBe(EVENT_TITLE)
  await page.getByRole('link', { name: 'Check people in' }).click()
  await expect.poll(() => page.locator('h1').innerText()).toBe(`Check-in: ${EVENT_TITLE}`)
  await expectAccessible(page)

  await page.getByRole('searchbox', { name: 'Name or email' }).fill(name)
  await page.getByRole('button', { name: 'Search' }).click()
  const checkInButton = page.getByRole('button', { name: `Check in ${name}` })
  await checkInButton.waitFor()
  await checkInButton.click()
  const message = await checkInMessage(page)
  await expect.poll(() => message.innerText()).toBe(`Checked in: ${name}, 1 place`)
  // The result now says when, instead of offering the button again.
  await expect.poll(() => page.locator('.staff-check-in__results').innerText()).toMatch(/Checked in at/)

  await page.getByRole('textbox', { name: 'Check-in code', exact: true }).fill(code!)
  await page.getByRole('button', { name: 'Check in', exact: true }).click()
  await expect.poll(() => page.locator('#check-in-message').innerText()).toMatch(new RegExp(`^Already checked in at .+: ${name}$`))
})

test('staff create an appeal (errors first), see it listed, publish it, and the public page takes gifts', async () => {
  const page = await staffPage()
  await page.goto('/staff/appeals/new')
  await expect.poll(() => page.locator('h1').innerText()).toBe('New appeal')
  await waitForHydration(page)
  await expectAccessible(page)

  // Empty: every required field says what is missing, and focus moves to the summary.
  await page.getByRole('button', { name: 'Save the draft' }).click()
  const summary = page.locator('.error-summary')
  await summary.waitFor()
  const summaryText = await summary.innerText()
  for (const error of ['Enter a title', 'Enter the web address (slug)', 'Enter a short summary', 'Write the story', 'Enter the goal']) {
    expect(summaryText).toContain(error)
  }
  await expect.poll(() => page.evaluate(() => document.activeElement?.classList.contains('error-summary'))).toBe(true)
  expect(await page.getByLabel('Title', { exact: true }).getAttribute('aria-invalid')).toBe('true')
  expect(await page.locator('.field-error').count()).toBeGreaterThanOrEqual(5)
  await expectAccessible(page)

  const suffix = uniqueLetters(6)
  const title = `Support for Adel ${suffix}`
  const slug = `support-adel-${suffix}`
  await page.getByLabel('Title', { exact: true }).fill(title)
  await page.getByLabel('Web address (slug)').fill(slug)
  await page.getByLabel('Summary').fill('Adel needs help to rebuild his life after release.')
  await page.getByLabel('Name to show for the person the appeal is for').fill('Adel')
  await page.getByLabel('Story').fill('Adel was held for years without charge.\n\nYour gift pays for his rent and training.')
  await page.getByLabel('Goal').fill('1,000.00')
  await page.getByLabel('Suggested amounts (optional)').fill('10, 20')
  await page.getByLabel('Choose a photo (optional)').setInputFiles({ name: 'PXL_0002.jpg', mimeType: 'image/jpeg', buffer: SIDEWAYS_PHONE_PHOTO })
  await page.getByLabel('Describe the photo (needed when there is a photo)').fill('Adel at the door of his flat')
  await page.getByRole('button', { name: 'Save the draft' }).click()
  await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe(title)
  expect(await page.getByRole('status').innerText()).toContain('The draft is saved')
  const appealPath = new URL(page.url()).pathname

  await page.goto('/staff/appeals')
  const row = page.locator('tbody tr', { has: page.locator('th', { hasText: title }) })
  await row.waitFor()
  expect(await row.innerText()).toContain('Draft')

  await page.goto(appealPath)
  await waitForHydration(page)
  await page.getByRole('button', { name: 'Publish the appeal' }).click()
  await expect.poll(() => page.getByRole('status').innerText()).toContain('The appeal is published')

  const visitor = await newContext(browser)
  const publicPage = await visitor.newPage()
  const response = await publicPage.goto(`/appeals/${slug}`)
  expect(response?.status()).toBe(200)
  await expect.poll(() => publicPage.locator('h1').innerText()).toBe(title)
  expect(await publicPage.getByRole('button', { name: /^Donate/ }).count()).toBe(1)
  expect(await publicPage.getByLabel('£20', { exact: true }).count()).toBe(1)
  // Stored 16 wide and 8 high with "turn 90° clockwise" in its EXIF: the browser shows it 8 by 16.
  const photo = publicPage.getByRole('img', { name: 'Adel at the door of his flat' })
  await expect.poll(() => photo.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0)).toBe(true)
  expect(await photo.evaluate((image: HTMLImageElement) => [image.naturalWidth, image.naturalHeight])).toEqual([8, 16])
  const served = await publicPage.request.get((await photo.getAttribute('src'))!)
  expect((await served.body()).toString('latin1')).not.toContain('safe house')
  await visitor.close()
})

test('the new event, audit log and staff users pages pass axe for an admin', async () => {
  const page = await staffPage()
  for (const [path, heading] of [
    ['/staff/events/new', /New event/],
    ['/staff/audit', /Audit/],
    ['/staff/users', /Staff users/],
    ['/staff/gift-aid', /Gift Aid claims/],
    ['/staff/two-factor', /Two-step sign-in/],
  ] as const) {
    const response = await page.goto(path)
    expect(response?.status(), path).toBe(200)
    await expect.poll(() => page.locator('h1').innerText()).toMatch(heading)
    await expectAccessible(page)
  }
  // Setting up a new phone shows the QR code and the key (the current secret stays until confirmed).
  await page.getByRole('button', { name: 'Move to a new phone' }).click()
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor()
  await expectAccessible(page)
})

test('an admin finds a supporter’s data, downloads it, and erases them after confirming; the totals do not move', async () => {
  const email = `erase-${uniqueLetters()}@example.org`
  await donate('£30', email)
  const page = await staffPage()
  await page.goto('/staff')
  const before = await appealTotals(page, APPEAL_TITLE)

  await page.goto('/staff/supporters')
  await page.getByLabel('Their email address').fill(email)
  await page.getByRole('button', { name: 'Find' }).click()
  const held = page.locator('section', { has: page.getByRole('heading', { name: 'What we hold' }) })
  await held.waitFor()
  await expectAccessible(page)
  // The email was posted, never put in the address.
  expect(page.url()).not.toContain('erase-')

  const download = page.waitForEvent('download')
  await held.getByRole('button', { name: 'Download everything (JSON)' }).click()
  const exported = JSON.parse(await readFile((await (await download).path())!, 'utf8')) as unknown
  expect(JSON.stringify(exported)).toContain(email)

  await held.getByRole('button', { name: 'Erase this supporter…' }).click()
  const review = page.locator('section', { has: page.getByRole('heading', { name: 'Erase this supporter?' }) })
  await review.waitFor()
  // Not ticking the box erases nothing and says why beside it.
  await review.getByRole('button', { name: 'Erase their personal data' }).click()
  await expect.poll(() => review.locator('.field-error').count()).toBeGreaterThan(0)
  await expectAccessible(page)
  await review.getByLabel(/I have checked this is the right person/).check()
  await review.getByRole('button', { name: 'Erase their personal data' }).click()

  // Found again by the same address, nothing of them is left to find.
  await expect.poll(async () => (await page.locator('main').innerText()).includes('Erase this supporter?')).toBe(false)
  await page.goto('/staff')
  expect(await appealTotals(page, APPEAL_TITLE)).toEqual(before)
  await page.goto('/staff/donations')
  expect(await page.locator('main').innerText()).not.toContain(email)
})

test('without JavaScript, an admin downloads the Gift Aid schedule with a new gift on it and marks it claimed', async () => {
  const fullName = `Amina ${uniqueLetters()}`
  await donate('£30', `e2e-gift-aid-${Date.now()}@example.org`, { fullName, house: '12', address: 'High Street, Leeds', postcode: 'ls1 4ap' })
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await signIn(page)
  expect(await page.locator('main').innerText()).toMatch(/Gift Aid, tax year \d{4}–\d{2}/)
  await page.goto('/staff/gift-aid')
  await expect.poll(() => page.locator('h1').innerText()).toBe('Gift Aid claims')

  const downloaded = page.waitForEvent('download')
  await page.getByRole('link', { name: 'Download schedule' }).click()
  const download = await downloaded
  expect(download.suggestedFilename()).toMatch(/^gift-aid-unclaimed-\d{4}-04-06-to-\d{4}-04-05\.csv$/)
  const [header, ...rows] = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '').split(/\r?\n/)
  expect(header).toBe('Title,First name,Last name,House name or number,Postcode,Aggregated donations,Sponsored event,Donation date,Amount')
  expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^,Amina,${fullName.split(' ')[1]},12,LS1 4AP,,,\\d{2}/\\d{2}/\\d{2},30\\.00$`)))

  // Not ticking the box marks nothing and says why.
  await page.getByRole('button', { name: 'Mark as claimed' }).click()
  await expect.poll(() => page.getByRole('alert').innerText()).toContain('Tick the box')
  await page.goto('/staff/gift-aid')
  await page.getByLabel(/I sent this schedule to HMRC/).check()
  await page.getByRole('button', { name: 'Mark as claimed' }).click()
  await expect.poll(() => page.getByRole('status').innerText()).toContain('Claim recorded')
  expect(await page.locator('main').innerText()).toContain('There is nothing to claim in these dates.')
  expect(await page.getByRole('table', { name: /Claims made/ }).locator('tbody tr').count()).toBeGreaterThan(0)
  await context.close()
})

test('without JavaScript, signing in works and /staff shows the totals', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  await signIn(page)
  const totals = await appealTotals(page, APPEAL_TITLE)
  expect(totals.grossMinor).toBeGreaterThan(0)
  expect(totals.donations).toBeGreaterThan(0)
  expect(await page.locator('main').innerText()).toContain('Organisation totals by currency')
  await context.close()
})

test('without JavaScript, an invited administrator must set up two-step sign-in first: our own QR code, a code, then recovery codes', async () => {
  const email = `e2e-new-admin-${Date.now()}@example.org`
  const admin = await staffPage()
  await admin.goto('/staff/users')
  const invite = admin.locator('section', { has: admin.getByRole('heading', { name: 'Invite someone' }) })
  await invite.getByLabel('Name').fill(`Nadia ${uniqueLetters()}`)
  await invite.getByLabel('Email address').fill(email)
  await invite.getByLabel('Role').selectOption('admin')
  await invite.getByRole('button', { name: 'Send the invitation' }).click()
  await expect.poll(() => admin.getByRole('status').first().innerText()).toContain('invitation is on its way')

  const context = await newContext(browser, { javaScriptEnabled: false })
  const page = await context.newPage()
  const requests = recordRequests(page)
  const row = await waitForEmailTo(page, email)
  await row.getByRole('link').first().click()
  const link = /https?:\/\/\S+\/staff\/sign-in\/verify\?token=[A-Za-z0-9_-]+/.exec(await page.getByTestId('email-text').innerText())?.[0]
  expect(link, 'the invitation carries a sign-in link').toBeTruthy()
  await page.goto(link!)
  await page.getByRole('button', { name: 'Sign in' }).click()

  // Straight to setting up the second factor, whatever the link led to.
  await expect.poll(() => page.locator('h1').innerText()).toBe('Two-step sign-in')
  expect(new URL(page.url()).pathname).toBe('/staff/two-factor')
  expect(await page.getByRole('alert').innerText()).toContain('Administrators must use two-step sign-in')
  await page.goto('/staff/donations')
  expect(new URL(page.url()).pathname).toBe('/staff/two-factor')
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' })
  await qr.waitFor()
  expect(await qr.locator('svg path').count()).toBeGreaterThan(0)
  const key = (await page.locator('.totp-key').innerText()).replace(/\s/g, '')
  const code = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(key) }).generate()
  await page.getByLabel('Code from the app').fill(code)
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click()
  await expect.poll(() => page.locator('h1').innerText()).toBe('Your recovery codes')
  expect(await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count()).toBe(10)
  await page.getByRole('link', { name: 'Go to the staff area' }).click()
  await expect.poll(() => page.locator('h1').innerText()).toBe('Campaign totals')
  // Nothing on these pages came from another origin: the QR code was drawn by our server.
  const origin = new URL(page.url()).origin
  expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([])
  await context.close()
})
