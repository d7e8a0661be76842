import { readdir } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import type { APIRequestContext, APIResponse, Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchBrowser, newContext } from './browser.ts'
import { signInWithRequest } from './demo-admin.ts'

let browser: Browser
let anonymous: BrowserContext
let staff: BrowserContext

beforeAll(async () => {
  browser = await launchBrowser()
  anonymous = await newContext(browser)
  staff = await newContext(browser)
  await signInWithRequest(staff.request)
})
afterAll(async () => {
  await anonymous?.close()
  await staff?.close()
  await browser?.close()
})

const APPEAL = 'walk-again-yusuf'
const EVENT = 'online-briefing-enforced-disappearances'
const UNKNOWN = randomUUID()

type Visit = {
  path: string | ((ids: StaffIds) => string)
  as: 'anonymous' | 'staff'
  method?: 'GET' | 'POST'
  /** What a POST sends; a form with nothing the route wants by default. */
  form?: Record<string, string>
  shared?: boolean
  /** The e2e server has no Resend webhook secret, so that endpoint says it is unavailable. */
  unconfigured?: boolean
}
type StaffIds = { appeal: string; event: string; donation: string; appealUpdatePath: string }

/**
 * Every route file, and a request that reaches it. `shared` marks the pages that show nothing about
 * the person asking when asked without a cookie: only those may be stored by a browser. A new
 * route file fails the first test until it is listed here.
 */
const VISITS: Record<string, Visit> = {
  '$.tsx': { path: '/no-such-page', as: 'anonymous' },
  '_index.tsx': { path: '/', as: 'anonymous', shared: true },
  'about.tsx': { path: '/about', as: 'anonymous', shared: true },
  'privacy.tsx': { path: '/privacy', as: 'anonymous', shared: true },
  'contact.tsx': { path: '/contact', as: 'anonymous', shared: true },
  'appeals._index.tsx': { path: '/appeals', as: 'anonymous', shared: true },
  'appeals.$slug.tsx': { path: `/appeals/${APPEAL}`, as: 'anonymous', shared: true },
  'events._index.tsx': { path: '/events', as: 'anonymous', shared: true },
  'events.$slug.tsx': { path: `/events/${EVENT}`, as: 'anonymous', shared: true },
  'events.$slug_.calendar[.]ics.ts': { path: `/events/${EVENT}/calendar.ics`, as: 'anonymous', shared: true },
  'events.$slug_.registered.tsx': { path: `/events/${EVENT}/registered`, as: 'anonymous' },
  'events.save.ts': { path: '/events/save', as: 'anonymous', method: 'POST' },
  'saved.tsx': { path: '/saved', as: 'anonymous' },
  'saved_.verify.tsx': { path: '/saved/verify?token=forged', as: 'anonymous' },
  'saved_.alerts.off.tsx': { path: '/saved/alerts/off?token=forged', as: 'anonymous' },
  'registrations.$id.tsx': { path: `/registrations/${UNKNOWN}?signature=forged`, as: 'anonymous' },
  'registrations.checkout.tsx': { path: '/registrations/checkout?session_id=cs_unknown', as: 'anonymous' },
  'donate.thank-you.tsx': { path: '/donate/thank-you?session_id=cs_unknown', as: 'anonymous' },
  'donate.monthly.stop.tsx': { path: '/donate/monthly/stop?token=forged', as: 'anonymous' },
  'updates.stop.tsx': { path: '/updates/stop?token=forged', as: 'anonymous' },
  'photos.$file.ts': { path: `/photos/${UNKNOWN}.${'0'.repeat(64)}.jpg`, as: 'anonymous' },
  'uploads.$file.ts': { path: `/uploads/${UNKNOWN}.jpg`, as: 'anonymous' },
  'healthz.ts': { path: '/healthz', as: 'anonymous' },
  '[.]well-known.security[.]txt.ts': { path: '/.well-known/security.txt', as: 'anonymous', shared: true },
  'webhooks.stripe.ts': { path: '/webhooks/stripe', as: 'anonymous', method: 'POST' },
  'webhooks.resend.ts': { path: '/webhooks/resend', as: 'anonymous', method: 'POST', unconfigured: true },
  'dev.checkout.$id.tsx': { path: `/dev/checkout/${UNKNOWN}`, as: 'anonymous' },
  'dev.checkout.registration.$id.tsx': { path: `/dev/checkout/registration/${UNKNOWN}`, as: 'anonymous' },
  'dev.mailbox._index.tsx': { path: '/dev/mailbox', as: 'anonymous' },
  'dev.mailbox.$id.tsx': { path: `/dev/mailbox/${UNKNOWN}`, as: 'anonymous' },
  'dev.mailbox.$id_.html.ts': { path: `/dev/mailbox/${UNKNOWN}/html`, as: 'anonymous' },
  'dev.mailbox.$id_.attachments.$index.ts': { path: `/dev/mailbox/${UNKNOWN}/attachments/0`, as: 'anonymous' },
  'dev.mailbox.test-email.ts': { path: '/dev/mailbox/test-email', as: 'anonymous', method: 'POST' },
  'staff_.sign-in.tsx': { path: '/staff/sign-in', as: 'anonymous' },
  'staff_.sign-in_.verify.tsx': { path: '/staff/sign-in/verify?token=forged', as: 'anonymous' },
  'staff_.sign-in_.code.tsx': { path: '/staff/sign-in/code', as: 'anonymous' },
  'staff_.two-factor.tsx': { path: '/staff/two-factor', as: 'staff' },
  'staff_.sign-out.ts': { path: '/staff/sign-out', as: 'anonymous', method: 'POST' },
  'staff.tsx': { path: '/staff', as: 'staff' },
  'staff._index.tsx': { path: '/staff?from=2020-01-01', as: 'staff' },
  'staff.appeals._index.tsx': { path: '/staff/appeals', as: 'staff' },
  'staff.appeals.new.tsx': { path: '/staff/appeals/new', as: 'staff' },
  'staff.appeals.$id.tsx': { path: (ids) => `/staff/appeals/${ids.appeal}`, as: 'staff' },
  'staff.appeals.$id_.updates.tsx': { path: (ids) => `/staff/appeals/${ids.appeal}/updates`, as: 'staff' },
  'staff.appeals.$id_.updates.$updateId.tsx': { path: (ids) => ids.appealUpdatePath, as: 'staff' },
  'staff.donations._index.tsx': { path: '/staff/donations', as: 'staff' },
  'staff.donations.$id.tsx': { path: (ids) => `/staff/donations/${ids.donation}`, as: 'staff' },
  'staff.donations.export[.]csv.ts': { path: '/staff/donations/export.csv', as: 'staff' },
  'staff.gift-aid._index.tsx': { path: '/staff/gift-aid', as: 'staff' },
  'staff.gift-aid.export[.]csv.ts': { path: '/staff/gift-aid/export.csv?from=2026-01-01&to=2026-12-31', as: 'staff' },
  'staff.emails.tsx': { path: '/staff/emails', as: 'staff' },
  'staff.payment-events.tsx': { path: '/staff/payment-events', as: 'staff' },
  'staff.events._index.tsx': { path: '/staff/events', as: 'staff' },
  'staff.events.new.tsx': { path: '/staff/events/new', as: 'staff' },
  'staff.events.$id.tsx': { path: (ids) => `/staff/events/${ids.event}`, as: 'staff' },
  'staff.events.$id_.edit.tsx': { path: (ids) => `/staff/events/${ids.event}/edit`, as: 'staff' },
  'staff.events.$id_.check-in.tsx': { path: (ids) => `/staff/events/${ids.event}/check-in`, as: 'staff' },
  'staff.events.$id_.registrations[.]csv.ts': { path: (ids) => `/staff/events/${ids.event}/registrations.csv`, as: 'staff' },
  'staff.supporters.tsx': { path: '/staff/supporters', as: 'staff' },
  'staff.supporters.export[.]json.ts': { path: '/staff/supporters/export.json', as: 'staff', method: 'POST', form: { email: 'demo-donor-1@example.org' } },
  'staff.audit.tsx': { path: '/staff/audit', as: 'staff' },
  'staff.users.tsx': { path: '/staff/users', as: 'staff' },
  'staff.privacy.tsx': { path: '/staff/privacy', as: 'staff' },
}

async function firstId(request: APIRequestContext, listPath: string, prefix: string) {
  const html = await (await request.get(listPath)).text()
  const match = new RegExp(`${prefix}/([0-9a-f-]{36})`).exec(html)
  expect(match, `an id linked from ${listPath}`).not.toBeNull()
  return match![1]!
}

/** The edit page of the first appeal update the demo data has, found through the staff pages. */
async function firstAppealUpdatePath(request: APIRequestContext) {
  const html = await (await request.get('/staff/appeals')).text()
  const appealIds = [...new Set([...html.matchAll(/\/staff\/appeals\/([0-9a-f-]{36})/g)].map((match) => match[1]!))]
  for (const id of appealIds) {
    const page = await (await request.get(`/staff/appeals/${id}/updates`)).text()
    const match = new RegExp(`/staff/appeals/${id}/updates/([0-9a-f-]{36})`).exec(page)
    if (match) return `/staff/appeals/${id}/updates/${match[1]}`
  }
  throw new Error('No appeal update is linked from the staff pages')
}

/** The headers every response must carry, whatever its status or type. */
function expectSecurityHeaders(response: APIResponse, label: string) {
  const headers = response.headers()
  const policy = headers['content-security-policy'] ?? ''
  expect(policy, `${label}: CSP`).toMatch(/default-src '(self|none)'/)
  expect(policy, `${label}: no inline scripts`).not.toContain("'unsafe-inline'")
  expect(policy, `${label}: no eval`).not.toContain("'unsafe-eval'")
  expect(headers['x-content-type-options'], label).toBe('nosniff')
  // Pages with a token in their address send no referrer to other sites (the staff sign-in link's
  // page sends it to us only, as its form must carry our Origin); the rest send only our origin.
  expect(['strict-origin-when-cross-origin', 'no-referrer', 'same-origin'], label).toContain(headers['referrer-policy'])
  expect(headers['x-frame-options'], label).toBe('DENY')
  // Only staff check-in may use the camera, from our own origin (issue 13); every other response keeps camera=().
  const camera = /\/staff\/events\/[^/]+\/check-in$/.test(new URL(response.url()).pathname) ? 'camera=\\(self\\)' : 'camera=\\(\\)'
  expect(headers['permissions-policy'], label).toMatch(new RegExp(`${camera}.*geolocation=\\(\\).*microphone=\\(\\)`))
  expect(headers['x-powered-by'], label).toBeUndefined()
  expect(headers['cache-control'], `${label}: Cache-Control`).toBeTruthy()
}

test('every route file is listed, so no route escapes the header checks', async () => {
  const files = (await readdir('app/routes')).sort()
  expect(Object.keys(VISITS).sort()).toEqual(files)
})

test('every route answers with the security headers; only anonymous public pages may be stored', async () => {
  const ids: StaffIds = {
    appeal: await firstId(staff.request, '/staff/appeals', '/staff/appeals'),
    event: await firstId(staff.request, '/staff/events', '/staff/events'),
    donation: await firstId(staff.request, '/staff/donations', '/staff/donations'),
    appealUpdatePath: await firstAppealUpdatePath(staff.request),
  }
  for (const [file, visit] of Object.entries(VISITS)) {
    const path = typeof visit.path === 'function' ? visit.path(ids) : visit.path
    const request = visit.as === 'staff' ? staff.request : anonymous.request
    const response =
      visit.method === 'POST'
        ? await request.post(path, { form: visit.form ?? { nonsense: '1' }, maxRedirects: 0 })
        : await request.get(path, { maxRedirects: 0 })
    const label = `${file} (${visit.method ?? 'GET'} ${path} → ${response.status()})`
    if (visit.unconfigured) expect(response.status(), label).toBe(503)
    else expect(response.status(), label).toBeLessThan(500)
    expectSecurityHeaders(response, label)
    const cacheControl = response.headers()['cache-control']
    if (visit.shared && response.status() === 200) expect(cacheControl, label).toMatch(/no-cache|max-age/)
    else expect(cacheControl, `${label}: may show personal data`).toContain('no-store')
    if (visit.as === 'staff') expect(response.status(), `${label}: reached as staff`).toBe(200)
  }
})

test('the check-in page alone may use the camera, and only from our own origin', async () => {
  const event = await firstId(staff.request, '/staff/events', '/staff/events')
  const checkIn = await staff.request.get(`/staff/events/${event}/check-in`, { maxRedirects: 0 })
  expect(checkIn.status()).toBe(200)
  const policy = checkIn.headers()['permissions-policy'] ?? ''
  expect(policy).toContain('camera=(self)')
  expect(policy).toContain('microphone=()')
  expect(policy).not.toMatch(/camera=\(\)/)
  // Its neighbours and look-alikes do not.
  for (const path of [`/staff/events/${event}`, `/staff/events/${event}/edit`, `/staff/events/${event}/check-in/extra`, `/events/${EVENT}`, '/staff']) {
    const response = await staff.request.get(path, { maxRedirects: 0 })
    expect(response.headers()['permissions-policy'], path).toMatch(/(^|, )camera=\(\)/)
  }
})

test('a document’s scripts all carry the nonce its policy names, a new one each time', async () => {
  const nonces = new Set<string>()
  for (const path of ['/', `/appeals/${APPEAL}`, `/appeals/${APPEAL}`, `/events/${EVENT}`, '/saved', '/staff/sign-in']) {
    const response = await anonymous.request.get(path)
    const policy = response.headers()['content-security-policy'] ?? ''
    const nonce = /'nonce-([A-Za-z0-9_-]+)'/.exec(policy)?.[1]
    expect(nonce, `${path}: a nonce in the policy`).toBeTruthy()
    expect(policy).toContain("object-src 'none'")
    expect(policy).toContain("frame-ancestors 'none'")
    expect(policy).toContain("base-uri 'none'")
    const html = await response.text()
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0])
    expect(scripts.length, path).toBeGreaterThan(0)
    for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`)
    nonces.add(nonce!)
  }
  expect(nonces.size, 'no nonce is used twice, cached pages included').toBe(6)
})

test('Stripe Checkout is an allowed form target only on the pages whose forms lead there', async () => {
  const formAction = async (path: string) =>
    /form-action ([^;]+)/.exec((await anonymous.request.get(path)).headers()['content-security-policy'] ?? '')?.[1]
  expect(await formAction(`/appeals/${APPEAL}`)).toBe("'self' https://checkout.stripe.com")
  expect(await formAction(`/events/${EVENT}`)).toBe("'self' https://checkout.stripe.com")
  for (const path of ['/', '/saved', '/staff/sign-in', '/about']) expect(await formAction(path), path).toBe("'self'")
})

test('in the browser, public pages and the staff area run under the policy without a single violation or header error', async () => {
  const page = await staff.newPage()
  const violations: string[] = []
  // Policy violations, and headers the browser could not understand, are logged as errors.
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy|Refused to|Permissions-Policy/i.test(message.text())) {
      violations.push(`${page.url()}: ${message.text()}`)
    }
  })
  for (const path of ['/', `/appeals/${APPEAL}`, `/events/${EVENT}`, '/saved', '/staff', '/staff/appeals/new', '/staff/events/new']) {
    await page.goto(path)
    await page.waitForLoadState('networkidle')
  }
  // Hydration ran: a client-side navigation works, which needs every script to have loaded.
  await page.goto('/')
  await page.getByRole('link', { name: 'Events', exact: true }).first().click()
  await page.waitForURL('**/events')
  expect(violations).toEqual([])
  await page.close()
})
