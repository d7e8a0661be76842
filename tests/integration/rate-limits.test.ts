import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { ActionFunctionArgs } from '@remix-run/node'
import { beforeAll, describe, expect, test } from 'vitest'
import { emailSchedulingSettled } from '#app/modules/email/outbox.server.ts'
import { getOrCreateSaver } from '#app/modules/events/saved-events.server.ts'
import { requestSaverLink } from '#app/modules/events/saver-links.server.ts'
import { createSignInToken } from '#app/modules/staff/sign-in.server.ts'
import { action as appealAction } from '#app/routes/appeals.$slug.tsx'
import { action as stopMonthlyAction } from '#app/routes/donate.monthly.stop.tsx'
import { action as eventAction } from '#app/routes/events.$slug.tsx'
import { action as saveAction } from '#app/routes/events.save.ts'
import { action as manageAction } from '#app/routes/registrations.$id.tsx'
import { action as alertsOffAction } from '#app/routes/saved_.alerts.off.tsx'
import { action as verifyAction } from '#app/routes/saved_.verify.tsx'
import { action as savedAction } from '#app/routes/saved.tsx'
import { action as signInAction } from '#app/routes/staff_.sign-in.tsx'
import { action as signInVerifyAction } from '#app/routes/staff_.sign-in_.verify.tsx'
import { action as stopUpdatesAction } from '#app/routes/updates.stop.tsx'
import { getDatabaseUrl, getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import {
  checkRateLimit,
  closeRateLimitStore,
  consumeWith,
  createRateLimitPool,
  createRateLimiter,
  rateLimit,
  rateLimitKey,
  storedRateLimitKey,
  type RateLimitName,
} from '#app/utils/rate-limit.server.ts'
import {
  manageRegistrationUrl,
  saverAlertsOffUrl,
  saverLinkUrl,
  stopAppealUpdatesUrl,
  stopMonthlyGiftUrl,
} from '#app/utils/signed-links.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { changedTables, snapshot } from './database-snapshot.ts'
import { createAppeal, createPendingDonation } from './donation-fixtures.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'
import { createStaff, postRequest, settle, type Answer } from './staff-fixtures.ts'

const db = getDb()

beforeAll(async () => {
  delete process.env.STRIPE_SECRET_KEY
  delete process.env.CHECKOUT_RATE_LIMIT
  resetEnvForTests()
  await seedDemoData(db)
})

let addressCounter = 0
/** Addresses of this file's own range, one per client. */
function address() {
  addressCounter += 1
  return `198.18.${addressCounter >> 8}.${addressCounter & 255}`
}

type Action = (args: ActionFunctionArgs) => Promise<unknown>

function post(action: Action, path: string, fields: Record<string, string>, ip: string, params: Record<string, string> = {}) {
  return settle(() => action({ request: postRequest(path, fields, { ip }), params, context: {} }))
}

function messageOf(answer: Answer): string {
  const body = answer.body as Record<string, unknown> | null
  if (body && typeof body.rateLimited === 'string') return body.rateLimited
  if (body && typeof body.error === 'string') return body.error
  const result = (body?.result ?? body) as { error?: Record<string, string[]> } | null
  return result?.error?.['']?.[0] ?? ''
}

/**
 * The refusal every limit gives: 429, a Retry-After a client can wait for, a sentence saying
 * when to try again, and not one row written or changed anywhere.
 */
async function expectRefused(attempt: () => Promise<Answer>) {
  // Emails written by the attempts before this one get their delivery jobs just after the commit.
  await emailSchedulingSettled()
  const before = await snapshot(db)
  const answer = await attempt()
  await emailSchedulingSettled()
  expect(answer.status).toBe(429)
  expect(Number(answer.headers.get('Retry-After'))).toBeGreaterThan(0)
  expect(changedTables(before, await snapshot(db))).toEqual([])
  return answer
}

function points(name: RateLimitName) {
  return rateLimit(name).points
}

describe('public forms', () => {
  test('the defaults let a room of 200 at a fundraising dinner, on one Wi-Fi address, all give and register', () => {
    // Counted per address: a room shares one. The card-testing defence stays, above any real room.
    expect(points('checkout')).toBeGreaterThanOrEqual(200)
    expect(points('registration')).toBeGreaterThanOrEqual(200)
  })

  test('donations: after CHECKOUT_RATE_LIMIT checkouts from one address the next is refused; another address still gives', async () => {
    const ip = address()
    const form = () => ({ submissionId: randomUUID(), amount: '2500', name: 'Limit Donor', email: `limit-${randomUUID().slice(0, 8)}@example.org` })
    const give = (from: string) => post(appealAction, '/appeals/walk-again-yusuf', form(), from, { slug: 'walk-again-yusuf' })
    for (let attempt = 0; attempt < points('checkout'); attempt++) expect((await give(ip)).status).toBe(303)
    const refused = await expectRefused(() => give(ip))
    expect(messageOf(refused)).toMatch(/^Too many attempts from your connection\. Please try again in (a minute|\d+ minutes)\.$/)
    expect((await give(address())).status).toBe(303)
  })

  test('card testing: only checkouts that end unpaid (expired, failed, a card declined) count against an address, never open ones or completed gifts', async () => {
    process.env.CHECKOUT_FAILURE_LIMIT = '3'
    resetEnvForTests()
    const { signWebhookPayload } = await import('#app/modules/payments/stripe.server.ts')
    const { action: stripeWebhook } = await import('#app/routes/webhooks.stripe.ts')
    const { applyDueStripeEvents, stripeWakeSettled } = await import('#app/modules/payments/stripe-inbox.server.ts')
    const { completedSession, stripeEvent } = await import('#tests/mocks/stripe.ts')
    const stripe = async (event: object) => {
      const body = JSON.stringify(event)
      const request = new Request('http://localhost/webhooks/stripe', { method: 'POST', headers: { 'stripe-signature': signWebhookPayload(body) }, body })
      expect((await stripeWebhook({ request, params: {}, context: {} })).status).toBe(200)
      await stripeWakeSettled()
      await applyDueStripeEvents(db, { maxAttempts: 3 })
    }
    const form = () => ({ submissionId: randomUUID(), amount: '2500', name: 'Card Tester', email: `tester-${randomUUID().slice(0, 8)}@example.org` })
    const give = (from: string) => post(appealAction, '/appeals/walk-again-yusuf', form(), from, { slug: 'walk-again-yusuf' })
    const donationsFrom = async (from: string) =>
      (await db.selectFrom('donations').select('id').where('checkout_client_key', '=', rateLimitKey(from)).orderBy('created_at').execute()).map((row) => row.id)
    try {
      // A table of donors: five open checkouts and five completed gifts from one address count nothing.
      const room = address()
      for (let attempt = 0; attempt < 10; attempt++) expect((await give(room)).status).toBe(303)
      for (const donationId of (await donationsFrom(room)).slice(5)) {
        await stripe(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500 })))
      }
      expect((await give(room)).status).toBe(303)

      // A card tester: two checkouts expire unpaid and a card is declined in a third: the next is refused.
      const tester = address()
      for (let attempt = 0; attempt < 3; attempt++) expect((await give(tester)).status).toBe(303)
      const [first, second, third] = await donationsFrom(tester)
      await stripe(stripeEvent('checkout.session.expired', { ...completedSession({ donationId: first!, amountMinor: 2_500, paymentStatus: 'unpaid' }), status: 'expired', payment_intent: null }))
      await stripe(stripeEvent('checkout.session.async_payment_failed', completedSession({ donationId: second!, amountMinor: 2_500, paymentStatus: 'unpaid' })))
      expect((await give(tester)).status).toBe(303)
      await stripe(stripeEvent('payment_intent.payment_failed', { id: `pi_declined_${third!.slice(0, 8)}`, object: 'payment_intent', status: 'requires_payment_method', metadata: { donation_id: third! } }))
      const refused = await expectRefused(() => give(tester))
      expect(messageOf(refused)).toMatch(/^Too many attempts from your connection\. Please try again in (a minute|\d+ minutes)\.$/)
      expect((await give(room)).status).toBe(303)
    } finally {
      delete process.env.CHECKOUT_FAILURE_LIMIT
      resetEnvForTests()
    }
  })

  test('registrations: REGISTRATION_RATE_LIMIT from one address, then 429 and no registration; another address still registers', async () => {
    const event = await createEvent({ capacity: 100 })
    const form = () => ({
      submissionId: randomUUID(),
      ticketTypeId: event.ticketTypeId,
      quantity: '1',
      name: 'Limit Person',
      email: `limit-${randomUUID().slice(0, 8)}@example.org`,
      privacyConsent: 'on',
    })
    const registerFrom = (from: string) => post(eventAction, `/events/${event.slug}`, form(), from, { slug: event.slug })
    const ip = address()
    for (let attempt = 0; attempt < points('registration'); attempt++) expect((await registerFrom(ip)).status).toBe(303)
    const refused = await expectRefused(() => registerFrom(ip))
    expect(messageOf(refused)).toMatch(/try again in/)
    expect((await registerFrom(address())).status).toBe(303)
  })

  test('saving events: 60 saves or unsaves from one address, then 429; another address still saves', async () => {
    const event = await createEvent({ capacity: 10 })
    const ip = address()
    const save = (from: string, intent: string, extra: Record<string, string> = { _fetcher: '1' }) =>
      post(saveAction, '/events/save', { eventId: event.eventId, intent, ...extra }, from)
    for (let attempt = 0; attempt < points('save-event'); attempt++) {
      expect((await save(ip, attempt % 2 === 0 ? 'save' : 'unsave')).status).toBe(200)
    }
    const refused = await expectRefused(() => save(ip, 'save'))
    expect(messageOf(refused)).toMatch(/try again in/)
    // Without JavaScript the browser shows the answer itself: a sentence, not JSON.
    const plain = await saveAction({ request: postRequest('/events/save', { eventId: event.eventId, intent: 'save' }, { ip }), params: {}, context: {} })
    expect(plain).toBeInstanceOf(Response)
    expect((plain as Response).status).toBe(429)
    expect(await (plain as Response).text()).toMatch(/^Too many attempts from your connection/)
    expect((await save(address(), 'save')).status).toBe(200)
  })

  test('saved-events links: 10 an hour from one address, then 429 with no saver, link or email; another address still asks', async () => {
    const ip = address()
    const ask = (from: string) => post(savedAction, '/saved', { email: `keep-${randomUUID().slice(0, 8)}@example.org` }, from)
    for (let attempt = 0; attempt < points('saver-link-ip'); attempt++) expect((await ask(ip)).status).toBe(200)
    const refused = await expectRefused(() => ask(ip))
    expect(messageOf(refused)).toMatch(/try again in/)
    expect(refused.headers.get('Set-Cookie')).toBeNull()
    expect((await ask(address())).status).toBe(200)
  })

  test('confirming saved-events links: 20 attempts from one address, then 429 and the link unspent; another address confirms', async () => {
    const saverId = await getOrCreateSaver(db, null)
    const email = `confirm-${randomUUID().slice(0, 8)}@example.org`
    await requestSaverLink(db, { saverId, email, alertsReminder: false, alertsFewPlaces: false }, address())
    const sent = await db.selectFrom('email_outbox').select('props').where('to_address', '=', email).executeTakeFirstOrThrow()
    const link = new URL((sent.props as { linkUrl: string }).linkUrl)
    const fields = { token: link.searchParams.get('token')!, signature: link.searchParams.get('signature')!, email }
    const ip = address()
    // Links we never sent (signed, so they reach the database): each attempt counts.
    for (let attempt = 0; attempt < points('saver-link-confirm'); attempt++) {
      const made = new URL(saverLinkUrl(randomBytes(32).toString('base64url')))
      const answer = await post(verifyAction, '/saved/verify', { ...fields, token: made.searchParams.get('token')!, signature: made.searchParams.get('signature')! }, ip)
      expect(answer.status).toBe(410)
    }
    const refused = await expectRefused(() => post(verifyAction, '/saved/verify', fields, ip))
    expect(messageOf(refused)).toMatch(/try again in/)
    expect((await post(verifyAction, '/saved/verify', fields, address())).status).toBe(303)
  })
})

describe('pages behind signed links', () => {
  /**
   * Guesses (bad signatures) from one address use up its attempts; then even a real link is
   * refused from there and changes nothing, while the same link works from another address.
   */
  async function guessesThenRefused(action: Action, path: string, good: Record<string, string>, bad: Record<string, string>, params: Record<string, string> = {}) {
    const ip = address()
    for (let attempt = 0; attempt < points('signed-link'); attempt++) {
      expect((await post(action, path, bad, ip, params)).status).toBe(404)
    }
    const refused = await expectRefused(() => post(action, path, good, ip, params))
    expect(messageOf(refused)).toMatch(/^Too many attempts from your connection/)
    const allowed = await post(action, path, good, address(), params)
    expect(allowed.status).not.toBe(429)
    expect(allowed.status).toBeLessThan(400)
    return allowed
  }

  function linkFields(url: string) {
    return Object.fromEntries(new URL(url).searchParams)
  }

  test('cancelling a registration', async () => {
    const event = await createEvent({ capacity: 5 })
    const outcome = await register(registrationRequest(event))
    if (outcome.kind !== 'confirmed') throw new Error(`expected a confirmed place, got ${outcome.kind}`)
    const registration = await db.selectFrom('registrations').select('id').where('event_id', '=', event.eventId).executeTakeFirstOrThrow()
    const { signature } = linkFields(manageRegistrationUrl(registration.id))
    await guessesThenRefused(
      manageAction,
      `/registrations/${registration.id}`,
      { signature: signature!, intent: 'cancel' },
      { signature: 'x'.repeat(43), intent: 'cancel' },
      { id: registration.id },
    )
    expect((await db.selectFrom('registrations').select('status').where('id', '=', registration.id).executeTakeFirstOrThrow()).status).toBe('cancelled')
  })

  test('stopping a monthly gift', async () => {
    const appeal = await createAppeal()
    const { recurringPlanId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1000, frequency: 'monthly' })
    await db.updateTable('recurring_plans').set({ status: 'active' }).where('id', '=', recurringPlanId!).execute()
    const good = linkFields(stopMonthlyGiftUrl(recurringPlanId!))
    await guessesThenRefused(stopMonthlyAction, '/donate/monthly/stop', good, { ...good, signature: 'y'.repeat(43) })
  })

  test('stopping appeal updates', async () => {
    const appeal = await createAppeal()
    const { supporterId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1000 })
    await db.updateTable('donations').set({ updates_opt_in: true }).where('supporter_id', '=', supporterId).execute()
    const good = linkFields(stopAppealUpdatesUrl(appeal.id, supporterId))
    await guessesThenRefused(stopUpdatesAction, '/updates/stop', good, { ...good, signature: 'z'.repeat(43) })
    expect((await db.selectFrom('donations').select('updates_opt_in').where('supporter_id', '=', supporterId).executeTakeFirstOrThrow()).updates_opt_in).toBe(false)
  })

  test('turning off saved-event alerts', async () => {
    const saverId = await getOrCreateSaver(db, null)
    await db.updateTable('savers').set({ alerts_reminder: true, alerts_few_places: true }).where('id', '=', saverId).execute()
    const good = linkFields(saverAlertsOffUrl(saverId))
    await guessesThenRefused(alertsOffAction, '/saved/alerts/off', good, { ...good, signature: 'w'.repeat(43) })
    expect(await db.selectFrom('savers').select(['alerts_reminder', 'alerts_few_places']).where('id', '=', saverId).executeTakeFirstOrThrow()).toEqual({
      alerts_reminder: false,
      alerts_few_places: false,
    })
  })
})

describe('staff sign-in', () => {
  test('passwords: 10 attempts from one address, then 429 even for the right password; another address still tries', async () => {
    const user = await createStaff('staff', { password: 'correct horse battery staple' })
    const ip = address()
    for (let attempt = 0; attempt < points('staff-password-ip'); attempt++) {
      const answer = await post(signInAction, '/staff/sign-in', { intent: 'password', email: `nobody-${attempt}@example.org`, password: 'guess' }, ip)
      expect(answer.status).toBe(400)
    }
    const right = { intent: 'password', email: user.email, password: 'correct horse battery staple' }
    await expectRefused(() => post(signInAction, '/staff/sign-in', right, ip))
    expect((await post(signInAction, '/staff/sign-in', right, address())).status).toBe(303)
  })

  test('sign-in links opened: 20 from one address, then 429 and the link unspent; another address signs in', async () => {
    const user = await createStaff('staff')
    const { token } = await createSignInToken(db, user.id)
    const ip = address()
    for (let attempt = 0; attempt < points('staff-link-verify'); attempt++) {
      expect((await post(signInVerifyAction, '/staff/sign-in/verify', { token: randomBytes(32).toString('base64url') }, ip)).status).toBe(400)
    }
    await expectRefused(() => post(signInVerifyAction, '/staff/sign-in/verify', { token }, ip))
    expect((await post(signInVerifyAction, '/staff/sign-in/verify', { token }, address())).status).toBe(303)
  })
})

describe('the shared PostgreSQL store (RATE_LIMIT_STORE=postgres)', () => {
  test('two servers, each with its own limiter and connections, share one count per address', async () => {
    const url = await getDatabaseUrl()
    const [poolA, poolB] = [createRateLimitPool(url), createRateLimitPool(url)]
    try {
      const options = { keyPrefix: `two-servers-${randomUUID().slice(0, 8)}`, points: 5, durationSeconds: 600 }
      const serverA = await createRateLimiter(options, poolA)
      const serverB = await createRateLimiter(options, poolB)
      const ip = address()
      // A client spreading its attempts across both servers gets five in all, not five on each.
      const answers = []
      for (let attempt = 0; attempt < 6; attempt++) answers.push((await consumeWith(attempt % 2 === 0 ? serverA : serverB, ip)).allowed)
      expect(answers).toEqual([true, true, true, true, true, false])
      expect((await consumeWith(serverA, ip)).allowed).toBe(false)
      const other = address()
      expect((await consumeWith(serverB, other)).allowed).toBe(true)
      // The table holds a hash of the address, never the address itself.
      const keys = (await sql<{ key: string }>`select key from rate_limits where key like ${`${options.keyPrefix}:%`}`.execute(db)).rows.map((row) => row.key)
      expect(keys.sort()).toEqual([`${options.keyPrefix}:${rateLimitKey(ip)}`, `${options.keyPrefix}:${rateLimitKey(other)}`].sort())
    } finally {
      await Promise.all([poolA.end(), poolB.end()])
    }
  })

  test("the app's own limits run on it, long email keys included", async () => {
    process.env.RATE_LIMIT_STORE = 'postgres'
    resetEnvForTests()
    await closeRateLimitStore()
    try {
      const email = `${'a'.repeat(300)}@example.org`
      for (let attempt = 0; attempt < points('saver-link-email'); attempt++) expect((await checkRateLimit('saver-link-email', email)).allowed).toBe(true)
      const refused = await checkRateLimit('saver-link-email', email)
      expect(refused).toMatchObject({ allowed: false })
      expect((await checkRateLimit('saver-link-email', `b${email}`)).allowed).toBe(true)
      // Erasing a supporter finds their row by the same key.
      const stored = await sql<{ key: string }>`select key from rate_limits where key = ${storedRateLimitKey('saver-link-email', email)}`.execute(db)
      expect(stored.rows).toHaveLength(1)
      // And through a route: the save limit counts in the table.
      const event = await createEvent({ capacity: 10 })
      const ip = address()
      for (let attempt = 0; attempt < points('save-event'); attempt++) {
        expect((await post(saveAction, '/events/save', { eventId: event.eventId, intent: 'save', _fetcher: '1' }, ip)).status).toBe(200)
      }
      await expectRefused(() => post(saveAction, '/events/save', { eventId: event.eventId, intent: 'save', _fetcher: '1' }, ip))
    } finally {
      delete process.env.RATE_LIMIT_STORE
      resetEnvForTests()
      await closeRateLimitStore()
    }
  })
})
