import { expect, inject, test } from 'vitest'
import { absoluteAddresses, metaContent, raw } from './raw-request.ts'

/**
 * The server runs as production does behind a TLS load balancer: APP_URL is https, the balancer
 * talks plain http to it and says `X-Forwarded-Proto: https`. Every absolute address it writes
 * (share links, og:url and og:image, the calendar file, Stripe's return addresses) must be the
 * public https one, whatever Host, X-Forwarded-Host or X-Forwarded-Proto a request carries, and
 * the public page cache must never keep a page made for a forged one (docs/decisions/022).
 */

const SITE = inject('siteUrl')
const APPEAL = 'walk-again-yusuf'
const EVENT = 'online-briefing-enforced-disappearances'

/** Addresses of our own site in a page: each must be on APP_URL exactly. */
function ownAddresses(html: string) {
  return absoluteAddresses(html).filter((address) => /donate\.example\.org|127\.0\.0\.1|evil\.example/.test(address))
}

test('an appeal page behind the load balancer links to its https address only', async () => {
  const page = await raw('GET', `/appeals/${APPEAL}`)
  expect(page.status).toBe(200)
  expect(metaContent(page.body, 'og:url')).toBe(`${SITE}/appeals/${APPEAL}`)
  const image = metaContent(page.body, 'og:image')
  if (image !== undefined) expect(image.startsWith(`${SITE}/`)).toBe(true)
  const own = ownAddresses(page.body)
  expect(own.length).toBeGreaterThan(0)
  expect(own.filter((address) => !address.startsWith(`${SITE}/`))).toEqual([])
})

test('an event page and its calendar file link to the https address only', async () => {
  const page = await raw('GET', `/events/${EVENT}`)
  expect(page.status).toBe(200)
  expect(metaContent(page.body, 'og:url')).toBe(`${SITE}/events/${EVENT}`)
  expect(ownAddresses(page.body).filter((address) => !address.startsWith(`${SITE}/`))).toEqual([])
  const calendar = await raw('GET', `/events/${EVENT}/calendar.ics`)
  expect(calendar.status).toBe(200)
  const urls = calendar.body.replace(/\r\n /g, '').match(/^URL[^:]*:(.*)$/m)
  expect(urls?.[1]?.trim()).toBe(`${SITE}/events/${EVENT}`)
})

test("a donation's checkout return addresses are the https ones", async () => {
  const page = await raw('GET', `/appeals/${APPEAL}`)
  const submissionId = /name="submissionId"[^>]*value="([0-9a-f-]{36})"|value="([0-9a-f-]{36})"[^>]*name="submissionId"/.exec(page.body)?.slice(1).find(Boolean)
  expect(submissionId).toMatch(/^[0-9a-f-]{36}$/)
  const form = new URLSearchParams({
    submissionId: submissionId!,
    frequency: 'one_off',
    amount: '2500',
    name: 'Proxy Test Donor',
    email: 'proxy-test-donor@example.com',
  })
  const posted = await raw('POST', `/appeals/${APPEAL}`, {
    headers: { origin: SITE, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  })
  expect(posted.status).toBe(303)
  // Without a Stripe key the offline checkout stands in for Stripe; its address is built from
  // the success URL the app gave, exactly as Stripe's return would be.
  expect(posted.headers.location?.startsWith(`${SITE}/dev/checkout/`)).toBe(true)
})

test.each([
  ['X-Forwarded-Host with another port', { 'x-forwarded-host': 'donate.example.org:6666' }],
  ['X-Forwarded-Host naming another site', { 'x-forwarded-host': 'evil.example' }],
  ['X-Forwarded-Proto http', { 'x-forwarded-proto': 'http' }],
])('a request with a forged %s neither gets nor leaves a page with that origin', async (_name, forged) => {
  const first = await raw('GET', `/appeals/${APPEAL}`, { headers: forged })
  expect(first.status).toBe(200)
  expect(ownAddresses(first.body).filter((address) => !address.startsWith(`${SITE}/`))).toEqual([])
  // The next visitor, with honest headers, may be served from the page cache.
  for (let visit = 0; visit < 3; visit += 1) {
    const next = await raw('GET', `/appeals/${APPEAL}`)
    expect(next.status).toBe(200)
    expect(next.body).not.toContain('6666')
    expect(next.body).not.toContain('evil.example')
    expect(ownAddresses(next.body).filter((address) => !address.startsWith(`${SITE}/`))).toEqual([])
  }
})

test('a forged Host is never cached, and the cached page is served only for the real one', async () => {
  const forged = await raw('GET', `/appeals/${APPEAL}`, { headers: { host: 'evil.example' } })
  expect(forged.headers['x-page-cache']).toBeUndefined()
  expect(forged.body).not.toContain('evil.example')
})

test("an idle connection from the load balancer stays open longer than the balancer's own 60 s idle timeout", async () => {
  // Otherwise Node (5 s by default) closes it while the balancer may be sending a request on it:
  // the supporter or Stripe gets a 502 or a reset.
  const page = await raw('GET', '/healthz', { headers: { connection: 'keep-alive' } })
  expect(page.status).toBe(200)
  const timeout = Number(/timeout=(\d+)/.exec(String(page.headers['keep-alive']))?.[1])
  expect(timeout).toBeGreaterThan(60)
})
