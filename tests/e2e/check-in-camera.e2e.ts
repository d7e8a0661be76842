import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import QRCode from 'qrcode'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { baseUrl, expectAccessible, launchBrowser, newContext, registerAndOpenConfirmation, waitForHydration } from './browser.ts'
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from './chromium.ts'
import { signInWithRequest } from './demo-admin.ts'
import { writeFakeCameraVideo } from './fake-camera.ts'

/**
 * Staff check-in with the phone's camera (issue 13): a registrant's emailed QR code, shown to
 * chromium's fake camera, is read in the page and checks them in through the code form's action.
 * Only this file launches chromium with a fake camera; the others keep the shared flags.
 */

const EVENT_SLUG = 'online-briefing-enforced-disappearances'
const EVENT_TITLE = 'Online briefing: enforced disappearances and how to respond'

let browser: Browser
let cameraBrowser: Browser | undefined
let folder: string
const contexts: BrowserContext[] = []
/** The demo admin's session, signed in once for the file (each TOTP code is taken once) and shared by every browser. */
let staffSession: BrowserContextOptions['storageState']

beforeAll(async () => {
  browser = await launchBrowser()
  folder = await mkdtemp(join(tmpdir(), 'sanad-camera-'))
  const signIn = await newContext(browser)
  await signInWithRequest(signIn.request)
  staffSession = await signIn.storageState()
  await signIn.close()
})

/** A signed-in staff context in `on` (a browser of this file's own, perhaps with a camera). */
async function staffContext(on: Browser, options: BrowserContextOptions = {}) {
  const context = await on.newContext({ baseURL: baseUrl(), storageState: staffSession, ...options })
  contexts.push(context)
  return context
}
afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {})
  await cameraBrowser?.close()
  await browser?.close()
  if (folder) await rm(folder, { recursive: true, force: true })
})

/**
 * A supporter registers for the free briefing; returns their name and their check-in code as a
 * QR code. The briefing is online, so its confirmation carries the code in words, not the
 * picture an in-person booking attaches; the code form takes either (the code, or the signed
 * code the picture holds).
 */
async function registerAndFetchQr() {
  const { context, page, name } = await registerAndOpenConfirmation(browser, EVENT_SLUG, 'Camera')
  const text = await page.getByTestId('email-text').innerText()
  const code = /Check-in code\s*:?\s*([A-Za-z0-9_-]{8,})/.exec(text)?.[1]
  expect(code, text).toBeDefined()
  const png = await QRCode.toBuffer(code!, { margin: 2, scale: 8 })
  await context.close()
  return { name, png, code: code! }
}

/** The check-in page of the briefing, reached as staff do: the event's page, then "Check people in". */
async function openCheckIn(page: Page) {
  await page.goto('/staff/events')
  await page.getByRole('link', { name: EVENT_TITLE }).click()
  await expect.poll(() => page.locator('h1').innerText()).toBe(EVENT_TITLE)
  // A document request, not the client router's data request: only the check-in page's own headers allow the camera.
  const document = page.waitForResponse((response) => response.request().resourceType() === 'document' && new URL(response.url()).pathname.endsWith('/check-in'))
  await page.getByRole('link', { name: 'Check people in' }).click()
  const response = await document
  expect(response.headers()['permissions-policy']).toContain('camera=(self)')
  await expect.poll(() => page.locator('h1').innerText()).toBe(`Check-in: ${EVENT_TITLE}`)
  await waitForHydration(page)
}

test('with a camera, a registrant’s check-in code shown as a QR code is read in the page and checks them in through the code form', async () => {
  const { name, png } = await registerAndFetchQr()
  const video = join(folder, 'check-in.y4m')
  await writeFakeCameraVideo(png, video)
  cameraBrowser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      '--disable-quic',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ],
  })
  const context = await staffContext(cameraBrowser, { permissions: ['camera'], viewport: { width: 390, height: 844 }, reducedMotion: 'reduce' })
  const page = await context.newPage()
  const scripts: string[] = []
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(request.url())
  })
  await openCheckIn(page)
  await expectAccessible(page)

  await page.getByRole('button', { name: 'Scan with camera' }).click()
  const status = page.locator('#camera-status')
  await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/Camera on|Code read/)
  expect(await page.getByRole('button', { name: 'Stop the camera' }).isVisible()).toBe(true)
  expect(await page.getByLabel('Camera view for scanning check-in QR codes').isVisible()).toBe(true)
  await expectAccessible(page)

  await expect.poll(() => page.locator('#check-in-message').textContent(), { timeout: 20_000 }).toBe(`Checked in: ${name}, 1 place`)
  // On a phone the picture and the answer are both in view.
  expect(await page.locator('video').evaluate((video) => video.getBoundingClientRect().bottom <= window.innerHeight + 1)).toBe(true)
  expect(await page.locator('#check-in-message').evaluate((message) => message.getBoundingClientRect().top >= -1)).toBe(true)
  if (process.env.SCREENSHOTS === 'after') await page.screenshot({ path: 'docs/screenshots/check-in-camera-after-390.png' })
  // The same code is still in front of the camera: it is not sent again while it stays in sight.
  await page.waitForTimeout(4_000)
  expect(await page.locator('#check-in-message').textContent()).toBe(`Checked in: ${name}, 1 place`)

  await page.getByRole('button', { name: 'Stop the camera' }).click()
  await expect.poll(() => status.innerText()).toBe('Camera stopped.')
  expect(await page.getByRole('button', { name: 'Scan with camera' }).isVisible()).toBe(true)
  expect(await page.evaluate(() => (document.querySelector('video') as HTMLVideoElement).srcObject)).toBeNull()

  // The attendee is checked in, as a name search now says.
  await page.getByRole('searchbox', { name: 'Name or email' }).fill(name)
  await page.getByRole('button', { name: 'Search' }).click()
  await expect.poll(() => page.locator('.staff-check-in__results').innerText()).toMatch(/Checked in at/)
  // Every script, the decoder's included, came from our own origin.
  for (const url of scripts) expect(new URL(url).origin).toBe(new URL(baseUrl()).origin)
})

test('where the browser has its own BarcodeDetector (Chrome on Android, Safari), the page uses it on the camera frames and never fetches jsQR', async () => {
  const { name, code } = await registerAndFetchQr()
  // Chromium on Linux has no BarcodeDetector: the page gets one that answers with the code whenever
  // it is handed a camera frame (chromium's generated test picture), as a phone's would.
  const withDetector = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--disable-quic', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  })
  try {
    const context = await staffContext(withDetector, { permissions: ['camera'] })
    await context.addInitScript((code: string) => {
      const seen = { formats: [] as string[], frames: 0 }
      ;(window as unknown as { detectorSeen: typeof seen }).detectorSeen = seen
      ;(window as unknown as { BarcodeDetector: unknown }).BarcodeDetector = class {
        static async getSupportedFormats() {
          return ['ean_13', 'qr_code']
        }
        constructor(options: { formats: string[] }) {
          seen.formats = options.formats
        }
        async detect(source: unknown) {
          if (!(source instanceof HTMLVideoElement) || source.videoWidth === 0) return []
          seen.frames += 1
          return [{ rawValue: code, format: 'qr_code' }]
        }
      }
    }, code)
    const page = await context.newPage()
    const scripts: string[] = []
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname)
    })
    await openCheckIn(page)
    await page.getByRole('button', { name: 'Scan with camera' }).click()
    await expect.poll(() => page.locator('#check-in-message').textContent(), { timeout: 20_000 }).toBe(`Checked in: ${name}, 1 place`)
    const seen = await page.evaluate(() => (window as unknown as { detectorSeen: { formats: string[]; frames: number } }).detectorSeen)
    expect(seen.formats).toEqual(['qr_code'])
    expect(seen.frames).toBeGreaterThan(0)
    expect(scripts.filter((path) => /jsqr/i.test(path))).toEqual([])
    await page.getByRole('button', { name: 'Stop the camera' }).click()
    await expect.poll(() => page.locator('#camera-status').innerText()).toBe('Camera stopped.')
  } finally {
    await withDetector.close()
  }
})

test('without a camera the page says so plainly; reached by the client router it reloads with its own policy; the typed code still works, with JavaScript and without', async () => {
  const context = await staffContext(browser)
  const page = await context.newPage()
  await openCheckIn(page)
  await page.getByRole('button', { name: 'Scan with camera' }).click()
  const status = page.locator('#camera-status')
  await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/camera is not allowed|No camera was found|could not start/)
  expect(await status.innerText()).toMatch(/^No camera was found on this device/)
  expect(await page.getByRole('button', { name: 'Scan with camera' }).isVisible()).toBe(true)
  await expectAccessible(page)
  await page.getByRole('textbox', { name: 'Check-in code', exact: true }).fill('no-such-code')
  await page.getByRole('button', { name: 'Check in', exact: true }).click()
  await expect.poll(() => page.locator('#check-in-message').textContent()).toBe('No registration with that code')

  // Reached by the client router from a page whose policy forbids the camera, the page reloads
  // itself as a document, with its own policy, when the button is pressed, and then tries.
  const checkInPath = new URL(page.url()).pathname
  await page.goto(checkInPath.replace(/\/check-in$/, ''))
  await waitForHydration(page)
  await page.evaluate((path) => (window as unknown as { __remixRouter: { navigate(path: string): Promise<void> } }).__remixRouter.navigate(path), checkInPath)
  await expect.poll(() => page.locator('h1').innerText()).toBe(`Check-in: ${EVENT_TITLE}`)
  expect(await page.evaluate(() => (document as unknown as { featurePolicy: { allowsFeature(name: string): boolean } }).featurePolicy.allowsFeature('camera'))).toBe(false)
  const reloaded = page.waitForResponse((response) => response.request().resourceType() === 'document' && new URL(response.url()).pathname === checkInPath)
  await page.getByRole('button', { name: 'Scan with camera' }).click()
  expect((await reloaded).headers()['permissions-policy']).toContain('camera=(self)')
  await expect.poll(() => page.locator('#camera-status').innerText(), { timeout: 15_000 }).toMatch(/camera is not allowed|No camera was found|could not start/)
  expect(await page.evaluate(() => (document as unknown as { featurePolicy: { allowsFeature(name: string): boolean } }).featurePolicy.allowsFeature('camera'))).toBe(true)

  // Without JavaScript there is no camera button, and the page's forms are as they were.
  const plain = await staffContext(browser, { javaScriptEnabled: false })
  const noScript = await plain.newPage()
  await noScript.goto(page.url())
  await expect.poll(() => noScript.locator('h1').innerText()).toBe(`Check-in: ${EVENT_TITLE}`)
  expect(await noScript.getByRole('button', { name: 'Scan with camera' }).count()).toBe(0)
  await noScript.getByRole('textbox', { name: 'Check-in code', exact: true }).fill('no-such-code')
  await noScript.getByRole('button', { name: 'Check in', exact: true }).click()
  await expect.poll(() => noScript.locator('#check-in-message').textContent()).toBe('No registration with that code')
})

test('a camera whose permission is refused: the page says how to allow it, and the camera is not left on', async () => {
  // A camera, but no automatic "allow": headless chromium refuses the request it cannot ask about.
  const refusing = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--disable-quic', '--use-fake-device-for-media-stream'],
  })
  try {
    const context = await staffContext(refusing)
    const page = await context.newPage()
    await openCheckIn(page)
    await page.getByRole('button', { name: 'Scan with camera' }).click()
    const status = page.locator('#camera-status')
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toMatch(/^The camera is not allowed\. Allow this site to use the camera/)
    expect(await page.getByRole('button', { name: 'Scan with camera' }).isVisible()).toBe(true)
    expect(await page.getByLabel('Camera view for scanning check-in QR codes').isVisible()).toBe(false)
    await expectAccessible(page)
  } finally {
    await refusing.close()
  }
})
