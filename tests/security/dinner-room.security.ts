import { expect, inject, test } from 'vitest'
import { raw } from './raw-request.ts'

/**
 * A fundraising dinner: the whole room is on the venue's Wi-Fi, so every phone reaches us from
 * one public address (here the load balancer's X-Forwarded-For), at the moment the appeal is
 * made. The card-testing defence counts only checkouts that ended unpaid, never open ones, so 200
 * guests in ten minutes all reach the payment page and all get a place (issue 13, item 1).
 */

const SITE = inject('siteUrl')
const APPEAL = 'walk-again-yusuf'
const EVENT = 'online-briefing-enforced-disappearances'
const GUESTS = 200
const ROOM = { 'x-forwarded-for': '198.51.100.77' }

function hiddenValue(html: string, name: string) {
  const field = new RegExp(`name="${name}"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="${name}"`).exec(html)
  return field?.slice(1).find(Boolean)
}

/** Runs `guest` for every guest, `parallel` at a time, as phones in a room would. */
async function room<T>(parallel: number, guest: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < GUESTS) {
        const index = next++
        results[index] = await guest(index)
      }
    }),
  )
  return results
}

test(`${GUESTS} guests on one Wi-Fi address all reach the payment page within ten minutes`, async () => {
  const outcomes = await room(8, async (index) => {
    const page = await raw('GET', `/appeals/${APPEAL}`, { headers: ROOM })
    const submissionId = hiddenValue(page.body, 'submissionId')
    const form = new URLSearchParams({
      submissionId: submissionId ?? '',
      frequency: 'one_off',
      amount: String(1_000 + index),
      name: `Dinner Guest ${String.fromCharCode(65 + (index % 26))}${String.fromCharCode(65 + Math.floor(index / 26))}`,
      email: `dinner-guest-${index}@example.com`,
    })
    const posted = await raw('POST', `/appeals/${APPEAL}`, {
      headers: { ...ROOM, origin: SITE, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    })
    const location = posted.headers.location ?? ''
    // The offline checkout stands in for Stripe's payment page.
    const payment = location.startsWith(`${SITE}/dev/checkout/`) ? await raw('GET', new URL(location).pathname, { headers: ROOM }) : undefined
    return `${posted.status} ${payment?.status ?? location}`
  })
  const reached = outcomes.filter((outcome) => outcome === '303 200').length
  expect(outcomes.filter((outcome) => outcome !== '303 200').slice(0, 5)).toEqual([])
  expect(reached).toBe(GUESTS)
})

test(`${GUESTS} guests on one Wi-Fi address all register for a free event`, async () => {
  const statuses = await room(8, async (index) => {
    const page = await raw('GET', `/events/${EVENT}`, { headers: ROOM })
    const form = new URLSearchParams({
      submissionId: hiddenValue(page.body, 'submissionId') ?? '',
      ticketTypeId: hiddenValue(page.body, 'ticketTypeId') ?? '',
      quantity: '1',
      name: `Room Guest ${String.fromCharCode(65 + (index % 26))}${String.fromCharCode(65 + Math.floor(index / 26))}`,
      email: `room-guest-${index}@example.com`,
      privacyConsent: 'on',
    })
    const posted = await raw('POST', `/events/${EVENT}`, {
      headers: { ...ROOM, origin: SITE, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    })
    return `${posted.status} ${posted.headers.location ?? posted.body.slice(0, 200)}`
  })
  // The same answer whether or not an address already had a place (docs/decisions/021): never a 429.
  const registered = new RegExp(`^303 (${SITE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})?/events/${EVENT}/registered$`)
  expect(statuses.filter((status) => !registered.test(status)).slice(0, 5)).toEqual([])
})
