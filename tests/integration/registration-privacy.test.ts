import { createHmac, randomUUID } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { action as eventAction } from '#app/routes/events.$slug.tsx'
import { loader as registeredLoader } from '#app/routes/events.$slug_.registered.tsx'
import { loader as manageLoader } from '#app/routes/registrations.$id.tsx'
import { action as ticketReturnAction, loader as ticketReturnLoader } from '#app/routes/registrations.checkout.tsx'
import { action as savedAction } from '#app/routes/saved.tsx'
import { loader as stopLoader } from '#app/routes/donate.monthly.stop.tsx'
import { createDonationFormSchema, OTHER_AMOUNT } from '#app/forms/donation/schema.ts'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { checkStopMonthlyGiftLink, LINK_PURPOSE, manageRegistrationUrl, stopMonthlyGiftUrl, UNDATED_STOP_LINKS_END } from '#app/utils/signed-links.server.ts'
import { stripeCalls } from '#tests/mocks/stripe.ts'
import { outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'

const db = getDb()
const ORIGIN = 'http://localhost:3000'
const PRICE = 1_500
let ip = 0

beforeAll(() => useTestStripe())
afterEach(() => {
  delete process.env.UNCONFIRMED_EMAILS_PER_DAY
  delete process.env.REGISTRATION_LINK_DAYS_AFTER_EVENT
  resetEnvForTests()
  vi.restoreAllMocks()
})

function form(fields: Record<string, string>) {
  return new URLSearchParams(fields)
}

function registrationForm(ticketTypeId: string, overrides: Record<string, string> = {}) {
  return form({
    submissionId: randomUUID(),
    ticketTypeId,
    quantity: '1',
    chosenPrice: '',
    name: 'Maryam Test',
    email: `maryam-${randomUUID().slice(0, 8)}@example.org`,
    accessNeeds: '',
    privacyConsent: 'on',
    website: '',
    ...overrides,
  })
}

/** The event page's form, posted as a browser would (each post from its own address). */
async function postRegistration(slug: string, body: URLSearchParams): Promise<Response | { data: unknown; init: ResponseInit | null }> {
  ip += 1
  const request = new Request(`${ORIGIN}/events/${slug}`, { method: 'POST', body, headers: { [CLIENT_IP_HEADER]: `198.51.${ip >> 8}.${ip & 255}` } })
  return (await eventAction({ request, params: { slug }, context: {} })) as Response | { data: unknown; init: ResponseInit | null }
}

/** Everything a browser sees of an answer, but for what may differ between any two answers (cookies, ids). */
async function observable(answer: Response | { data: unknown; init: ResponseInit | null }) {
  if (answer instanceof Response) {
    const headers = [...answer.headers.entries()].filter(([name]) => name !== 'set-cookie').sort()
    return { status: answer.status, headers, body: await answer.text() }
  }
  const headers = [...new Headers(answer.init?.headers).entries()].filter(([name]) => name !== 'set-cookie').sort()
  return { status: answer.init?.status ?? 200, headers, body: JSON.stringify(answer.data) }
}

async function createPaidEvent(capacity: number) {
  const event = await createEvent({ capacity })
  const paid = await db
    .insertInto('ticket_types')
    .values({ event_id: event.eventId, name: 'Standard ticket', kind: 'paid', price_minor: PRICE, currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { ...event, freeTicketTypeId: event.ticketTypeId, ticketTypeId: paid.id }
}

describe('registering an address that already has a place (item 1)', () => {
  test('free place: the answer is the same whether or not the address is registered, and the registered address is emailed its link', async () => {
    const event = await createEvent({ capacity: 5 })
    const registered = registrationRequest(event)
    const first = await register(registered)
    if (first.kind !== 'confirmed') throw new Error('setup')

    const again = await postRegistration(event.slug, registrationForm(event.ticketTypeId, { email: registered.email.toUpperCase() }))
    const fresh = await postRegistration(event.slug, registrationForm(event.ticketTypeId))
    expect(await observable(again)).toEqual(await observable(fresh))
    expect(await observable(fresh)).toMatchObject({ status: 303, headers: expect.arrayContaining([['location', `/events/${event.slug}/registered`]]) })

    const emails = await outboxFor(registered.email)
    expect(emails.map((email) => email.template)).toEqual(['registration-confirmed', 'registration-exists'])
    expect(emails[1]!.props).toMatchObject({ status: 'confirmed', manageUrl: manageRegistrationUrl(first.registrationId) })
    // The page both land on says the same to everyone and names no one.
    const page = await registeredLoader({ request: new Request(`${ORIGIN}/events/${event.slug}/registered`), params: { slug: event.slug }, context: {} })
    expect(page).toEqual({ eventTitle: 'Test event', eventSlug: event.slug })
  })

  test('free place on a full event: waitlisted, already waiting and new all get the same answer', async () => {
    const event = await createEvent({ capacity: 1 })
    await register(registrationRequest(event))
    const waiting = registrationRequest(event)
    expect(await register(waiting)).toMatchObject({ kind: 'waitlisted' })
    const again = await postRegistration(event.slug, registrationForm(event.ticketTypeId, { email: waiting.email }))
    const fresh = await postRegistration(event.slug, registrationForm(event.ticketTypeId))
    expect(await observable(again)).toEqual(await observable(fresh))
    expect((await outboxFor(waiting.email)).map((email) => [email.template, (email.props as { status?: string }).status])).toEqual([
      ['waitlist-joined', undefined],
      ['registration-exists', 'waitlisted'],
    ])
  })

  test('paid ticket: a registered address is told to check its email, and emailed; a new address goes to Checkout with its cookie', async () => {
    const event = await createPaidEvent(5)
    const registered = registrationRequest(event, { ticketTypeId: event.freeTicketTypeId })
    const first = await register(registered)
    if (first.kind !== 'confirmed') throw new Error('setup')
    const calls = stripeCalls.length

    const again = (await postRegistration(event.slug, registrationForm(event.ticketTypeId, { email: registered.email }))) as Response
    expect(again.status).toBe(303)
    expect(again.headers.get('Location')).toBe(`/events/${event.slug}/registered`)
    expect(again.headers.get('Set-Cookie')).toBeNull()
    expect(stripeCalls.length).toBe(calls)
    expect((await outboxFor(registered.email)).map((email) => email.template)).toEqual(['registration-confirmed', 'registration-exists'])

    const fresh = (await postRegistration(event.slug, registrationForm(event.ticketTypeId))) as Response
    expect(fresh.status).toBe(303)
    expect(fresh.headers.get('Location')).toMatch(/^https:\/\/checkout\.stripe\.com\//)
    expect(fresh.headers.get('Set-Cookie')).toMatch(/^sanad_booking=.*HttpOnly/)
  })

  test('saved-events links: over the limit for one address the page answers as when sent, sends nothing, and logs no address', async () => {
    const warn = vi.spyOn(getLogger(), 'warn')
    const email = `saver-${randomUUID().slice(0, 8)}@example.org`
    const ask = async () => {
      ip += 1
      const request = new Request(`${ORIGIN}/saved`, {
        method: 'POST',
        body: form({ email }),
        headers: { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', [CLIENT_IP_HEADER]: `198.18.${ip >> 8}.${ip & 255}` },
      })
      return observable((await savedAction({ request, params: {}, context: {} })) as { data: unknown; init: ResponseInit | null })
    }
    const answers = []
    for (let attempt = 0; attempt < 4; attempt++) answers.push(await ask())
    // Three links an hour to one address; the fourth answers the same and is not sent.
    for (const answer of answers) expect(answer).toEqual(answers[0])
    expect(answers[0]!.status).toBe(200)
    expect(await outboxFor(email)).toHaveLength(3)
    expect(warn).toHaveBeenCalled()
    expect(JSON.stringify(warn.mock.calls)).not.toContain(email)
  })
})

describe('names that are not names (item 2)', () => {
  test.each([
    ['Friend\nEvent MOVED, re-confirm at evil.example/cage', 'Write your name on one line'],
    ['Friend Event MOVED, re-confirm at evil.example/cage', 'Your name cannot include a web address'],
    ['See https://evil.example', 'Your name cannot include a web address'],
    ['Friend \u202Eegac/elpmaxe.live', 'Remove the hidden text-direction characters from your name'],
    ['Friend \u2066x\u2069', 'Remove the hidden text-direction characters from your name'],
  ])('registration refuses %j with a 400 that says why, and writes nothing', async (name, message) => {
    const event = await createEvent({ capacity: 5 })
    const answer = await observable(await postRegistration(event.slug, registrationForm(event.ticketTypeId, { name })))
    expect(answer.status).toBe(400)
    expect(answer.body).toContain(message)
    expect(await db.selectFrom('registrations').select('id').where('event_id', '=', event.eventId).execute()).toHaveLength(0)
  })

  test.each(['Dr. A. Khan', 'St. John', 'J.R.R. Tolkien', 'A.Khan', "Seán O'Brien-Smith", 'محمد علي'])('registration takes the real name %j', async (name) => {
    const event = await createEvent({ capacity: 5 })
    const answer = await observable(await postRegistration(event.slug, registrationForm(event.ticketTypeId, { name })))
    expect(answer.status).toBe(303)
  })

  test('the donation form refuses the same names in its name, which its Gift Aid declaration also uses', () => {
    const schema = createDonationFormSchema({ currency: 'GBP', giftAidAvailable: true })
    const donation = (fields: Record<string, unknown>) =>
      schema.safeParse({
        submissionId: randomUUID(),
        amount: OTHER_AMOUNT,
        customAmount: '25',
        name: 'Maryam Test',
        email: 'maryam@example.org',
        giftAid: true,
        houseNameOrNumber: '1',
        address: 'High Street, London',
        postcode: 'SW1A 1AA',
        ...fields,
      })
    expect(donation({}).success).toBe(true)
    expect(donation({ name: 'Dr. A. Khan' }).success).toBe(true)
    expect(donation({ name: 'St. John Smith' }).success).toBe(true)
    const badName = donation({ name: 'Friend\nre-confirm at evil.example/cage' })
    expect(badName.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['name', 'Write your name on one line']])
    const badLink = donation({ name: 'Maryam www.evil.example' })
    expect(badLink.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['name'])
  })
})

describe('emails to an address nobody has confirmed (item 2)', () => {
  test('a few a day across registrations and "already registered" emails; then the place is still made, unmailed, and the log has no address', async () => {
    process.env.UNCONFIRMED_EMAILS_PER_DAY = '3'
    resetEnvForTests()
    const warn = vi.spyOn(getLogger(), 'warn')
    const email = `target-${randomUUID().slice(0, 8)}@example.org`
    const events = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 5 })))
    expect(await register(registrationRequest(events[0]!, { email }))).toMatchObject({ kind: 'confirmed' })
    expect(await register(registrationRequest(events[1]!, { email }))).toMatchObject({ kind: 'confirmed' })
    // "You already have a place" counts too: the third email of the day.
    expect(await register(registrationRequest(events[0]!, { email: email.toUpperCase() }))).toMatchObject({ kind: 'already-registered' })
    // The fourth is not sent, but the free place is confirmed all the same.
    expect(await register(registrationRequest(events[2]!, { email }))).toMatchObject({ kind: 'confirmed' })
    expect((await outboxFor(email)).map((row) => row.template)).toEqual(['registration-confirmed', 'registration-confirmed', 'registration-exists'])
    expect(warn).toHaveBeenCalledTimes(1)
    expect(JSON.stringify(warn.mock.calls)).not.toContain(email.split('@')[0]!)

    // Once the address is confirmed (a saved-events link opened), it is no longer limited.
    await db.updateTable('supporters').set({ email_confirmed_at: new Date() }).where('email', '=', email).execute()
    const another = await createEvent({ capacity: 5 })
    expect(await register(registrationRequest(another, { email }))).toMatchObject({ kind: 'confirmed' })
    expect(await outboxFor(email)).toHaveLength(4)
  })

  test('the route answers the same when the email was withheld', async () => {
    process.env.UNCONFIRMED_EMAILS_PER_DAY = '1'
    resetEnvForTests()
    const email = `withheld-${randomUUID().slice(0, 8)}@example.org`
    const [first, second] = await Promise.all([createEvent({ capacity: 5 }), createEvent({ capacity: 5 })])
    const sent = await observable(await postRegistration(first.slug, registrationForm(first.ticketTypeId, { email })))
    const withheld = await observable(await postRegistration(second.slug, registrationForm(second.ticketTypeId, { email })))
    expect(withheld).toEqual({ ...sent, headers: sent.headers.map(([name, value]) => [name, name === 'location' ? `/events/${second.slug}/registered` : value]) })
    expect(await outboxFor(email)).toHaveLength(1)
  })
})

describe('links that expire (item 3)', () => {
  async function thrown(promise: Promise<unknown>) {
    const error = await promise.then(
      () => expect.fail('expected a refusal'),
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(Response)
    return error as Response
  }

  test('a registration link stops working REGISTRATION_LINK_DAYS_AFTER_EVENT days after the event: 410 with a clear message, not 500', async () => {
    const event = await createEvent({ capacity: 5 })
    const outcome = await register(registrationRequest(event))
    if (outcome.kind !== 'confirmed') throw new Error('setup')
    const open = () => {
      const url = manageRegistrationUrl(outcome.registrationId)
      return manageLoader({ request: new Request(url), params: { id: outcome.registrationId }, context: {} })
    }
    expect(await open()).toMatchObject({ registration: { status: 'confirmed' } })
    const endedDaysAgo = async (days: number) => {
      const endsAt = new Date(Date.now() - days * 24 * 60 * 60 * 1000)
      await db.updateTable('events').set({ starts_at: new Date(endsAt.getTime() - 2 * 60 * 60 * 1000), ends_at: endsAt }).where('id', '=', event.eventId).execute()
    }
    await endedDaysAgo(29)
    expect(await open()).toMatchObject({ registration: { status: 'confirmed', past: true } })
    await endedDaysAgo(31)
    const expired = await thrown(open())
    expect(expired.status).toBe(410)
    expect(await expired.text()).toContain('This link has expired')
    process.env.REGISTRATION_LINK_DAYS_AFTER_EVENT = '60'
    resetEnvForTests()
    expect(await open()).toMatchObject({ registration: { status: 'confirmed' } })
  })

  test('a monthly-gift stop link carries a signed expiry; expired is 410, altered is 404; undated old links end on a fixed date', async () => {
    const planId = randomUUID()
    const issued = new Date('2026-01-01T00:00:00Z')
    const link = new URL(stopMonthlyGiftUrl(planId, issued))
    const fields = { plan: planId, signature: link.searchParams.get('signature')!, expires: Number(link.searchParams.get('expires')) }
    expect(fields.expires).toBe(Math.floor(issued.getTime() / 1000) + 90 * 24 * 60 * 60)
    expect(checkStopMonthlyGiftLink(fields, new Date('2026-03-31T00:00:00Z'))).toBe('valid')
    expect(checkStopMonthlyGiftLink(fields, new Date('2026-04-02T00:00:00Z'))).toBe('expired')
    expect(checkStopMonthlyGiftLink({ ...fields, expires: fields.expires + 86_400 }, new Date('2026-03-31T00:00:00Z'))).toBe('invalid')

    const undated = { plan: planId, signature: createHmac('sha256', 'sanad-development-link-signing-key').update(`${LINK_PURPOSE.stopMonthlyGift}:${planId}`).digest('base64url') }
    expect(checkStopMonthlyGiftLink(undated, new Date(UNDATED_STOP_LINKS_END.getTime() - 1000))).toBe('valid')
    expect(checkStopMonthlyGiftLink(undated, UNDATED_STOP_LINKS_END)).toBe('expired')

    // Through the page: an expired link is a 410 with the way forward, before any database look-up.
    const expired = await thrown(stopLoader({ request: new Request(link.href), params: {}, context: {} }))
    expect(expired.status).toBe(410)
    expect(await expired.text()).toContain('most recent monthly receipt')
    link.searchParams.set('expires', String(fields.expires + 1))
    expect((await thrown(stopLoader({ request: new Request(link.href), params: {}, context: {} }))).status).toBe(404)
  })
})

describe('the page Stripe returns a ticket buyer to (item 3)', () => {
  test('Stripe gets a success URL with only the session id, and a cancel URL with no signed link', async () => {
    const event = await createPaidEvent(5)
    const answer = (await postRegistration(event.slug, registrationForm(event.ticketTypeId))) as Response
    const call = stripeCalls.findLast((c) => c.path === '/v1/checkout/sessions')!
    expect(call.form.get('success_url')).toBe(`${ORIGIN}/registrations/checkout?session_id={CHECKOUT_SESSION_ID}`)
    expect(call.form.get('cancel_url')).toBe(`${ORIGIN}/registrations/checkout?checkout=cancelled`)
    expect(answer.status).toBe(303)
  })

  test('the booking shows only in the browser that started the checkout; anyone else holding the URL is told to check their email', async () => {
    const event = await createPaidEvent(5)
    const body = registrationForm(event.ticketTypeId, { name: 'Yusuf Buyer' })
    const email = body.get('email')!
    const answer = (await postRegistration(event.slug, body)) as Response
    const cookie = answer.headers.get('Set-Cookie')!.split(';')[0]!
    const row = await db.selectFrom('registrations').select(['id', 'stripe_checkout_session_id']).where('email', '=', email).executeTakeFirstOrThrow()
    const successUrl = `${ORIGIN}/registrations/checkout?session_id=${row.stripe_checkout_session_id}`
    const load = (url: string, headers: Record<string, string> = {}) => ticketReturnLoader({ request: new Request(url, { headers }), params: {}, context: {} })

    const mine = await load(successUrl, { Cookie: cookie })
    expect(mine.booking).toMatchObject({ name: 'Yusuf Buyer', email, status: 'held' })
    // Another browser with the same address sees nothing personal.
    const other = await load(successUrl)
    expect(other.booking).toBeNull()
    expect(JSON.stringify(other)).not.toContain('Yusuf')
    expect(JSON.stringify(other)).not.toContain(email)
    // Nor does a browser whose cookie is for another checkout, nor a forged cookie.
    const otherBuyer = (await postRegistration(event.slug, registrationForm(event.ticketTypeId))) as Response
    expect((await load(successUrl, { Cookie: otherBuyer.headers.get('Set-Cookie')!.split(';')[0]! })).booking).toBeNull()
    expect((await load(successUrl, { Cookie: `sanad_booking=${encodeURIComponent(btoa(JSON.stringify(row.stripe_checkout_session_id)))}` })).booking).toBeNull()
    // Back without paying (the cancel URL has no session id): the cookie alone finds the hold, and can go back to pay.
    const back = await load(`${ORIGIN}/registrations/checkout`, { Cookie: cookie })
    expect(back.booking).toMatchObject({ status: 'held', holdExpiresAt: expect.any(String) })
    const request = new Request(`${ORIGIN}/registrations/checkout`, { method: 'POST', headers: { Cookie: cookie, Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' }, body: new URLSearchParams() })
    const again = (await ticketReturnAction({ request, params: {}, context: {} })) as Response
    expect(again.status).toBe(303)
    expect(again.headers.get('Location')).toMatch(/^https:\/\/checkout\.stripe\.com\//)
    const stranger = new Request(`${ORIGIN}/registrations/checkout`, { method: 'POST', headers: { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' }, body: new URLSearchParams() })
    expect(await ticketReturnAction({ request: stranger, params: {}, context: {} })).toMatchObject({ message: expect.stringContaining('by email') })
  })
})
