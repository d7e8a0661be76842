import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { renderEmail } from '#emails/index.ts'
import { expireCheckoutSession } from '#app/modules/payments/stripe.server.ts'
import { expireTicketCheckout } from '#app/modules/registrations/holds.server.ts'
import { cancelRegistration } from '#app/modules/registrations/self-service.server.ts'
import { expireUnconfirmedWaitlistEntry } from '#app/modules/registrations/waitlist.server.ts'
import { action as eventAction } from '#app/routes/events.$slug.tsx'
import { action as manageAction, loader as manageLoader } from '#app/routes/registrations.$id.tsx'
import { loader as ticketReturnLoader } from '#app/routes/registrations.checkout.tsx'
import { bookingCookieHeader } from '#app/utils/checkout-cookie.server.ts'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { confirmWaitlistUrl, manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { closedSessions, stripeCalls } from '#tests/mocks/stripe.ts'
import { deliver, outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createEvent, placesTaken, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'
import { stripeEvent } from '#tests/mocks/stripe.ts'

const db = getDb()
const PRICE = 1_500

beforeAll(() => useTestStripe())

/** An event with a free ticket (the fixture's) and a paid and a pay-what-you-can one. */
async function createPaidEvent(capacity: number) {
  const event = await createEvent({ capacity })
  const paid = await db
    .insertInto('ticket_types')
    .values({ event_id: event.eventId, name: 'Standard ticket', kind: 'paid', price_minor: PRICE, currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const pwyc = await db
    .insertInto('ticket_types')
    .values({ event_id: event.eventId, name: 'Pay what you can', kind: 'pay_what_you_can', min_price_minor: 300, currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { ...event, freeTicketTypeId: event.ticketTypeId, ticketTypeId: paid.id, pwycTicketTypeId: pwyc.id }
}

async function registration(id: string) {
  return db.selectFrom('registrations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function jobsWithKey(key: string) {
  const { rows } = await sql<{ run_at: Date; task_identifier: string; payload: Record<string, unknown> }>`
    select j.run_at, t.identifier as task_identifier, j.payload
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where j.key = ${key}`.execute(db)
  return rows
}

function withSetting(name: string, value: string) {
  process.env[name] = value
  resetEnvForTests()
  return () => {
    delete process.env[name]
    resetEnvForTests()
  }
}

async function page(id: string, query: Record<string, string> = {}) {
  const url = new URL(manageRegistrationUrl(id))
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
  return manageLoader({ request: new Request(url), params: { id }, context: {} })
}

async function post(id: string, fields: Record<string, string>) {
  const url = new URL(manageRegistrationUrl(id))
  const body = new URLSearchParams({ signature: url.searchParams.get('signature')!, ...fields })
  return manageAction({ request: new Request(url, { method: 'POST', body, headers: { Origin: url.origin } }), params: { id }, context: {} })
}

describe('unpaid holds cannot hoard places (issue 14)', () => {
  test('one connection may have UNPAID_HOLDS_PER_CLIENT unpaid bookings open per event; the next waits for one to end, and staff can raise it for the event', async () => {
    const restore = withSetting('UNPAID_HOLDS_PER_CLIENT', '2')
    try {
      const event = await createPaidEvent(20)
      const clientIp = '192.0.2.14'
      const outcomes = []
      for (let i = 0; i < 3; i++) outcomes.push(await register(registrationRequest(event, { quantity: 2 }), { clientIp }))
      expect(outcomes.map((outcome) => outcome.kind)).toEqual(['checkout', 'checkout', 'too-many-holds'])
      const refused = outcomes[2]!
      if (refused.kind !== 'too-many-holds') throw new Error('expected a refusal')
      expect(refused).toMatchObject({ reason: 'client', limit: 2 })
      // Until the first hold ends, at most 32 minutes away.
      expect(refused.retryAfterSeconds).toBeGreaterThan(29 * 60)
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(32 * 60)
      // Nothing was written for the refused request: no registration, no places, no supporter.
      expect(await registrationsOf(event.eventId)).toHaveLength(2)
      expect(await placesTaken(event.eventId)).toEqual({ places_taken: 4, capacity: 20 })

      // Another connection, a free place from this one, and this one's waitlist entries are not limited.
      expect(await register(registrationRequest(event, { quantity: 2 }), { clientIp: '192.0.2.15' })).toMatchObject({ kind: 'checkout' })
      expect(await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }), { clientIp })).toMatchObject({ kind: 'confirmed' })

      // A paid hold that ends (paid, or given back) frees its slot at once.
      const [first] = await registrationsOf(event.eventId)
      await cancelRegistration(db, first!.id)
      expect(await register(registrationRequest(event, { quantity: 2 }), { clientIp })).toMatchObject({ kind: 'checkout' })
      expect(await register(registrationRequest(event, { quantity: 2 }), { clientIp })).toMatchObject({ kind: 'too-many-holds' })

      // Staff raise the limit for this one event (a dinner whose tables book from one Wi-Fi).
      await db.updateTable('events').set({ unpaid_holds_per_client: 3 }).where('id', '=', event.eventId).execute()
      expect(await register(registrationRequest(event, { quantity: 2 }), { clientIp })).toMatchObject({ kind: 'checkout' })
      expect(await register(registrationRequest(event, { quantity: 2 }), { clientIp })).toMatchObject({ kind: 'too-many-holds' })
      // The hold keeps only a hash of the address, never the address.
      const rows = await registrationsOf(event.eventId)
      expect(rows.filter((row) => row.status === 'held').every((row) => row.client_key && !row.client_key.includes('192.0.2'))).toBe(true)
    } finally {
      restore()
    }
  })

  // Row locks only mean something on a real server: PGlite runs one transaction at a time.
  test('ten bookings at once from one connection with a limit of three: exactly three holds', async () => {
    const restore = withSetting('UNPAID_HOLDS_PER_CLIENT', '3')
    try {
      const event = await createPaidEvent(50)
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => register(registrationRequest(event), { clientIp: '192.0.2.77' })))
      expect(outcomes.filter((outcome) => outcome.kind === 'checkout')).toHaveLength(3)
      expect(outcomes.filter((outcome) => outcome.kind === 'too-many-holds')).toHaveLength(7)
      expect(await placesTaken(event.eventId)).toEqual({ places_taken: 3, capacity: 50 })
    } finally {
      restore()
    }
  })

  test('the event page refuses the booking with 429, Retry-After and a sentence saying what to do', async () => {
    const restore = withSetting('UNPAID_HOLDS_PER_CLIENT', '1')
    try {
      const event = await createPaidEvent(10)
      const clientIp = '192.0.2.40'
      expect(await register(registrationRequest(event), { clientIp })).toMatchObject({ kind: 'checkout' })
      const form = new URLSearchParams({
        ticketTypeId: event.ticketTypeId,
        quantity: '1',
        name: 'Second Booker',
        email: 'second-booker@example.org',
        privacyConsent: 'on',
        submissionId: crypto.randomUUID(),
      })
      const request = new Request(`http://localhost:3000/events/${event.slug}`, { method: 'POST', body: form, headers: { [CLIENT_IP_HEADER]: clientIp } })
      const response = (await eventAction({ request, params: { slug: event.slug }, context: {} })) as unknown as { init: ResponseInit; data: unknown }
      expect(response.init.status).toBe(429)
      expect(new Headers(response.init.headers).get('Retry-After')).toMatch(/^\d+$/)
      expect(JSON.stringify(response.data)).toContain('waiting to be paid for')
      expect(await registrationsOf(event.eventId)).toHaveLength(1)
    } finally {
      restore()
    }
  })

  test('leaving Stripe’s payment page gives the places back at once, offers them to someone waiting, and expires the session through Stripe', async () => {
    const event = await createPaidEvent(5)
    // The issue: pay what you can at £3, four places of the five left.
    const holder = registrationRequest(event, { ticketTypeId: event.pwycTicketTypeId, chosenPriceMinor: 300, quantity: 4 })
    const outcome = await register(holder)
    expect(outcome).toMatchObject({ kind: 'checkout' })
    const [held] = await registrationsOf(event.eventId)
    expect(held).toMatchObject({ status: 'held', quantity: 4 })
    // Stripe's "back" link is the checkout return page, saying the person left the payment page;
    // it carries no signed link, so only the browser with the booking cookie is recognised (ADR 021).
    const create = stripeCalls.find((call) => call.path === '/v1/checkout/sessions' && call.form.get('client_reference_id') === held!.id)!
    const cancelUrl = new URL(create.form.get('cancel_url')!)
    expect(cancelUrl.searchParams.get('checkout')).toBe('cancelled')
    expect(cancelUrl.pathname).toBe('/registrations/checkout')
    const cookie = (await bookingCookieHeader(held!.stripe_checkout_session_id!)).split(';')[0]!
    const comeBack = (headers: Record<string, string> = { Cookie: cookie }) =>
      ticketReturnLoader({ request: new Request(cancelUrl, { headers }), params: {}, context: {} })

    // Someone takes the last place, and someone (confirmed) waits for two.
    expect(await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId }))).toMatchObject({ kind: 'confirmed' })
    const waiting = await register(registrationRequest(event, { ticketTypeId: event.freeTicketTypeId, quantity: 2 }))
    expect(waiting).toMatchObject({ kind: 'waitlisted' })

    // Another browser holding the same address gives nothing back.
    expect(await comeBack({})).toMatchObject({ booking: null, leftPayment: false })
    expect((await registration(held!.id)).status).toBe('held')
    const back = await comeBack()
    expect(back.leftPayment).toBe(true)
    expect(back.booking?.status).toBe('expired')
    expect(await registration(held!.id)).toMatchObject({ status: 'expired', submission_id: null })
    if (waiting.kind !== 'waitlisted') throw new Error('setup')
    expect((await registration(waiting.registrationId)).status).toBe('offered')
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 3, capacity: 5 })
    // Coming back the same way again changes nothing.
    expect((await comeBack()).leftPayment).toBe(false)

    // The session is ended by a job after the commit, through Stripe's API.
    const [job] = await jobsWithKey(`expire-checkout:${held!.stripe_checkout_session_id}`)
    expect(job).toMatchObject({ task_identifier: 'expire_ticket_checkout', payload: { sessionId: held!.stripe_checkout_session_id } })
    expect(await expireTicketCheckout(held!.stripe_checkout_session_id!)).toBe('expired')
    expect(stripeCalls.filter((call) => call.path === `/v1/checkout/sessions/${held!.stripe_checkout_session_id}/expire`)).toHaveLength(1)
    // Run twice (a retried job), Stripe says it is no longer open: that is the same as done.
    expect(await expireTicketCheckout(held!.stripe_checkout_session_id!)).toBe('not-open')

    // Stripe then reports the session expired: nothing is released twice.
    const expired = { id: held!.stripe_checkout_session_id, object: 'checkout.session', mode: 'payment', client_reference_id: held!.id, metadata: { registration_id: held!.id }, amount_total: 1200, currency: 'gbp', payment_intent: null, payment_status: 'unpaid', status: 'expired' }
    expect(await deliver(stripeEvent('checkout.session.expired', expired))).toBe(200)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 3, capacity: 5 })
    // The same form again starts a new booking rather than finding the one given back.
    expect(await register(holder)).toMatchObject({ kind: 'waitlisted' })
  })

  test('cancelling a place still being paid for ends its Checkout Session through Stripe', async () => {
    const event = await createPaidEvent(3)
    await register(registrationRequest(event))
    const [held] = await registrationsOf(event.eventId)
    expect(await cancelRegistration(db, held!.id)).toBe('cancelled')
    const [job] = await jobsWithKey(`expire-checkout:${held!.stripe_checkout_session_id}`)
    expect(job?.task_identifier).toBe('expire_ticket_checkout')
    expect(await expireTicketCheckout(held!.stripe_checkout_session_id!)).toBe('expired')
    expect(stripeCalls.some((call) => call.path === `/v1/checkout/sessions/${held!.stripe_checkout_session_id}/expire`)).toBe(true)
  })

  test('a session already paid is not expired: Stripe refuses, and the payment is left to its webhook', async () => {
    closedSessions.add('cs_test_already_paid')
    expect(await expireCheckoutSession('cs_test_already_paid')).toBe('not-open')
  })
})

describe('the waitlist counts confirmed addresses only (issue 14)', () => {
  test('made-up addresses on the waitlist are never offered a place, and lapse; a confirmed one behind them is offered it', async () => {
    const event = await createEvent({ capacity: 1 })
    const first = await register(registrationRequest(event))
    const fakes = []
    for (let i = 0; i < 3; i++) fakes.push(await register(registrationRequest(event), { confirmWaitlist: false }))
    const real = await register(registrationRequest(event))
    if (first.kind !== 'confirmed' || real.kind !== 'waitlisted') throw new Error('setup')
    // The unconfirmed entries are not in the queue: the confirmed person is first in it.
    expect(real.position).toBe(1)
    const [job] = await jobsWithKey(`expire-waitlist:${fakes[0]!.kind === 'waitlisted' ? fakes[0]!.registrationId : ''}`)
    expect(job!.task_identifier).toBe('expire_unconfirmed_waitlist')
    expect(job!.run_at.getTime() - Date.now()).toBeGreaterThan(23 * 60 * 60 * 1000)

    expect(await cancelRegistration(db, first.registrationId)).toBe('cancelled')
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['cancelled', 'waitlisted', 'waitlisted', 'waitlisted', 'offered'])

    for (const fake of fakes) {
      if (fake.kind !== 'waitlisted') throw new Error('setup')
      expect(await expireUnconfirmedWaitlistEntry(db, fake.registrationId)).toBe(false)
      expect(await expireUnconfirmedWaitlistEntry(db, fake.registrationId, new Date(Date.now() + 25 * 60 * 60 * 1000))).toBe(true)
    }
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['cancelled', 'expired', 'expired', 'expired', 'offered'])
  })

  test('the confirm link is only in the email: the page the person lands on cannot confirm, the emailed link can, and a free place is offered at once', async () => {
    const event = await createEvent({ capacity: 1 })
    const first = await register(registrationRequest(event))
    const request = registrationRequest(event)
    const waiting = await register(request, { confirmWaitlist: false })
    if (first.kind !== 'confirmed' || waiting.kind !== 'waitlisted') throw new Error('setup')
    const [email] = await outboxFor(request.email)
    expect(email!.template).toBe('waitlist-joined')
    expect(email!.props).toMatchObject({ confirmUrl: confirmWaitlistUrl(waiting.registrationId), manageUrl: manageRegistrationUrl(waiting.registrationId) })
    const rendered = await renderEmail('waitlist-joined', email!.props)
    expect(rendered.subject).toContain('Confirm your place on the waiting list')
    expect(rendered.text).toContain(confirmWaitlistUrl(waiting.registrationId))

    // The page reached by registering has no confirm signature, so no confirm button, and a forged one fails.
    expect((await page(waiting.registrationId)).confirmSignature).toBeNull()
    expect((await page(waiting.registrationId, { confirm: 'x'.repeat(43) })).confirmSignature).toBeNull()
    await expect(post(waiting.registrationId, { intent: 'confirm-waitlist' })).rejects.toMatchObject({ status: 400 })
    await expect(post(waiting.registrationId, { intent: 'confirm-waitlist', confirm: 'x'.repeat(43) })).rejects.toMatchObject({ status: 400 })

    // Meanwhile the place frees up: nobody confirmed is waiting, so it is free for anyone.
    expect(await cancelRegistration(db, first.registrationId)).toBe('cancelled')
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 0 })

    const confirm = new URL(confirmWaitlistUrl(waiting.registrationId)).searchParams.get('confirm')!
    const landed = await page(waiting.registrationId, { confirm })
    expect(landed.confirmSignature).toBe(confirm)
    expect(await post(waiting.registrationId, { intent: 'confirm-waitlist', confirm })).toMatchObject({ done: 'waitlist-confirmed' })
    expect(await registration(waiting.registrationId)).toMatchObject({ status: 'offered', waitlist_confirmed_at: expect.any(Date) })
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
  })

  test('a confirmation after the deadline is refused and the entry lapses; free places never wait for an address', async () => {
    const restore = withSetting('WAITLIST_CONFIRM_HOURS', '1')
    try {
      const event = await createEvent({ capacity: 1 })
      expect(await register(registrationRequest(event))).toMatchObject({ kind: 'confirmed' })
      const waiting = await register(registrationRequest(event), { confirmWaitlist: false })
      if (waiting.kind !== 'waitlisted') throw new Error('setup')
      await db.updateTable('registrations').set({ waitlisted_at: new Date(Date.now() - 2 * 60 * 60 * 1000) }).where('id', '=', waiting.registrationId).execute()
      const confirm = new URL(confirmWaitlistUrl(waiting.registrationId)).searchParams.get('confirm')!
      expect(await post(waiting.registrationId, { intent: 'confirm-waitlist', confirm })).toMatchObject({ done: 'waitlist-lapsed' })
      expect((await registration(waiting.registrationId)).status).toBe('expired')
    } finally {
      restore()
    }
  })
})

describe('cancelling a place (issue 13)', () => {
  test('the page asks first, saying exactly what will happen: freed when nobody waits, offered when someone confirmed does', async () => {
    const event = await createEvent({ capacity: 2 })
    const mine = await register(registrationRequest(event))
    if (mine.kind !== 'confirmed') throw new Error('setup')
    const before = await page(mine.registrationId, { step: 'cancel' })
    expect(before.confirmCancel).toEqual({ status: 'confirmed', afterwards: 'freed', paid: false, refund: null, daysBefore: 7 })
    // Asking changed nothing.
    expect((await registration(mine.registrationId)).status).toBe('confirmed')

    await register(registrationRequest(event))
    await register(registrationRequest(event), { confirmWaitlist: false })
    // Someone unconfirmed is waiting: the place would still only be freed.
    expect((await page(mine.registrationId, { step: 'cancel' })).confirmCancel).toMatchObject({ afterwards: 'freed' })
    const waiting = await register(registrationRequest(event))
    if (waiting.kind !== 'waitlisted') throw new Error('setup')
    expect((await page(mine.registrationId, { step: 'cancel' })).confirmCancel).toMatchObject({ afterwards: 'offered' })
  })

  test('afterwards the page says what truly happened and offers to register again while places remain', async () => {
    const event = await createEvent({ capacity: 3 })
    const request = registrationRequest(event)
    const mine = await register(request)
    if (mine.kind !== 'confirmed') throw new Error('setup')
    const result = await post(mine.registrationId, { intent: 'cancel' })
    expect(result).toMatchObject({ done: 'cancelled', cancellation: { afterwards: 'freed', refund: null, previousStatus: 'confirmed' } })
    const after = await page(mine.registrationId)
    expect(after.registration.registerAgain).toEqual({ placesLeft: 3, label: '3 places left' })
    const cancelled = (await outboxFor(request.email)).find((email) => email.template === 'registration-cancelled')!
    expect(cancelled.props).toMatchObject({ afterwards: 'freed' })
    const { text } = await renderEmail('registration-cancelled', cancelled.props)
    expect(text).toContain('free again for someone else to book')
    expect(text).not.toContain('offered')
    // Registering again works.
    expect(await register({ ...registrationRequest(event), email: request.email })).toMatchObject({ kind: 'confirmed' })
  })

  test('when someone confirmed was waiting, the page and the email say the place was passed on', async () => {
    const event = await createEvent({ capacity: 1 })
    const request = registrationRequest(event)
    const mine = await register(request)
    const waiting = await register(registrationRequest(event))
    if (mine.kind !== 'confirmed' || waiting.kind !== 'waitlisted') throw new Error('setup')
    expect(await post(mine.registrationId, { intent: 'cancel' })).toMatchObject({ cancellation: { afterwards: 'offered' } })
    expect((await registration(waiting.registrationId)).status).toBe('offered')
    const cancelled = (await outboxFor(request.email)).find((email) => email.template === 'registration-cancelled')!
    const { text } = await renderEmail('registration-cancelled', cancelled.props)
    expect(text).toContain('offered to the next person on the waiting list')
    // The event is full again: the page offers the waitlist rather than a place.
    expect((await page(mine.registrationId)).registration.registerAgain).toEqual({ placesLeft: 0, label: 'Full: join the waitlist' })
  })

  test('a paid place: the confirmation step names the refund before anything is refunded', async () => {
    const event = await createPaidEvent(3)
    await register(registrationRequest(event))
    const [held] = await registrationsOf(event.eventId)
    const session = { id: `cs_test_${held!.id.slice(0, 8)}`, object: 'checkout.session', mode: 'payment', client_reference_id: held!.id, metadata: { registration_id: held!.id }, amount_total: PRICE, currency: 'gbp', customer: null, payment_intent: `pi_${held!.id.slice(0, 8)}`, payment_status: 'paid', status: 'complete' }
    expect(await deliver(stripeEvent('checkout.session.completed', session))).toBe(200)
    expect((await page(held!.id, { step: 'cancel' })).confirmCancel).toEqual({ status: 'confirmed', afterwards: 'freed', paid: true, refund: '£15.00', daysBefore: 7 })
    expect(await jobsWithKey(`refund-registration:${held!.id}`)).toEqual([])
    expect(await post(held!.id, { intent: 'cancel' })).toMatchObject({ cancellation: { refund: '£15.00', paid: true } })
    expect(await jobsWithKey(`refund-registration:${held!.id}`)).toHaveLength(1)
  })

  test('booking emails link to "manage my booking", not "cancel my registration"', async () => {
    const event = await createEvent({ capacity: 2 })
    const request = registrationRequest(event)
    await register(request)
    const [confirmation] = await outboxFor(request.email)
    const { html, text } = await renderEmail('registration-confirmed', confirmation!.props)
    for (const output of [html, text]) {
      expect(output).toContain('manage my booking')
      expect(output).not.toContain('cancel my registration')
    }
  })
})
