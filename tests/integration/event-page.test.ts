import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { getOrCreateSaver, saveEvent } from '#app/modules/events/saved-events.server.ts'
import type { RegistrationOutcome } from '#app/modules/registrations/registration-request.ts'
import { loader as calendarLoader } from '#app/routes/events.$slug_.calendar[.]ics.ts'
import { action, loader } from '#app/routes/events.$slug.tsx'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { registerForEvent } from '#app/modules/registrations/register.server.ts'

// The registrations module is someone else's, with its own end-to-end tests: here it is a spy, so
// each test says what it decided and checks how the page answers.
vi.mock('#app/modules/registrations/register.server.ts', () => ({ registerForEvent: vi.fn() }))

const db = getDb()
const ORIGIN = 'https://events.example.org'
/**
 * The origin requests arrive on: behind a TLS load balancer, plain http to an inner address. Every
 * absolute address must still be APP_URL's (ORIGIN), never this one (docs/decisions/022).
 */
const REQUEST_ORIGIN = 'http://10.0.0.5:8080'
const IN_PERSON = 'witness-testimonies-evening'
const ONLINE = 'online-briefing-enforced-disappearances'
const PAST = 'annual-fundraising-dinner'
const ONLINE_URL = 'https://meet.example.org/enforced-disappearances-briefing'
const MANAGE_URL = `${ORIGIN}/registrations/0b8f6f57-8f0e-4f57-9f57-000000000001?signature=abc`

function loadEvent(slug: string, headers: HeadersInit = {}) {
  return loader({ request: new Request(`${REQUEST_ORIGIN}/events/${slug}`, { headers }), params: { slug }, context: {} })
}

function loadCalendar(slug: string) {
  return calendarLoader({
    request: new Request(`${REQUEST_ORIGIN}/events/${slug}/calendar.ics`),
    params: { slug },
    context: {},
  }) as Promise<Response>
}

/** What a loader threw (a Response for a 404), or a failure if it returned. */
async function thrownBy(promise: Promise<unknown>): Promise<Response> {
  const thrown = await promise.then(
    () => expect.fail('expected the route to refuse, but it answered'),
    (error: unknown) => error,
  )
  expect(thrown).toBeInstanceOf(Response)
  return thrown as Response
}

async function setStatus(slug: string, status: 'draft' | 'published' | 'cancelled') {
  await db.updateTable('events').set({ status }).where('slug', '=', slug).execute()
}

async function ticketIds(slug: string) {
  const rows = await db
    .selectFrom('ticket_types as t')
    .innerJoin('events as e', 'e.id', 't.event_id')
    .select(['t.id', 't.kind', 'e.id as eventId'])
    .where('e.slug', '=', slug)
    .orderBy('t.position')
    .execute()
  return {
    eventId: rows[0]!.eventId,
    first: rows[0]!.id,
    free: rows.find((row) => row.kind === 'free')?.id ?? '',
    payWhatYouCan: rows.find((row) => row.kind === 'pay_what_you_can')?.id ?? '',
  }
}

function form(fields: Record<string, string | null>) {
  const body = new FormData()
  for (const [name, value] of Object.entries(fields)) if (value !== null) body.set(name, value)
  return body
}

let witness: Awaited<ReturnType<typeof ticketIds>>

function validForm(overrides: Record<string, string | null> = {}) {
  return form({
    submissionId: crypto.randomUUID(),
    ticketTypeId: witness.free,
    quantity: '2',
    chosenPrice: '',
    name: 'Maryam Test',
    email: 'maryam@example.org',
    accessNeeds: '',
    privacyConsent: 'on',
    website: '',
    ...overrides,
  })
}

function register(slug: string, body: FormData) {
  return action({
    request: new Request(`${REQUEST_ORIGIN}/events/${slug}`, {
      method: 'POST',
      body,
      headers: { [CLIENT_IP_HEADER]: '203.0.113.9' },
    }),
    params: { slug },
    context: {},
  })
}

type Reply = { status?: string; error?: Record<string, string[] | null>; initialValue?: Record<string, unknown> | null }

/** The action's `data(reply, init)` result: its status and conform's reply. */
function asReply(result: unknown): { status: number; reply: Reply; headers: Headers } {
  expect(result).not.toBeInstanceOf(Response)
  const wrapped = result as { data: Reply; init: ResponseInit | null }
  return { status: wrapped.init?.status ?? 200, reply: wrapped.data, headers: new Headers(wrapped.init?.headers) }
}

function asRedirect(result: unknown) {
  expect(result).toBeInstanceOf(Response)
  const response = result as Response
  return { status: response.status, location: response.headers.get('Location') }
}

async function rowCounts() {
  const count = async (table: 'registrations' | 'supporters') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return { registrations: await count('registrations'), supporters: await count('supporters') }
}

afterAll(() => {
  vi.unstubAllEnvs()
  resetEnvForTests()
})

beforeAll(async () => {
  vi.stubEnv('APP_URL', ORIGIN)
  resetEnvForTests()
  await seedDemoData(db)
  witness = await ticketIds(IN_PERSON)
})

beforeEach(() => {
  vi.mocked(registerForEvent).mockReset()
})

describe('the event page loader', () => {
  test('shows the in-person demo event with its places, venue and tickets', async () => {
    const page = await loadEvent(IN_PERSON)
    expect(page.event.title).toBe('Witness: an evening of testimonies from former detainees')
    expect(page.placesLabel).toBe('12 places left')
    expect(page.full).toBe(false)
    expect(page.event.venueName).toBe('Friends Meeting House, Room 3')
    expect(page.event.venueAddress).toBe('173 Euston Road, London NW1 2BJ')
    expect(page.event.accessNotes).toMatch(/Step-free access/)
    expect(page.event.organiserName).toBe('CAGE')
    expect(page.event.maxPerOrder).toBe(4)
    // "Free place", not "Free place: free" (issue 13).
    expect(page.ticketTypes.map((ticket) => [ticket.name, ticket.priceLabel, ticket.line])).toEqual([
      ['Free place', null, 'Free place'],
      ['Pay what you can', 'from £3.00 a place, as you choose', 'Pay what you can: from £3.00 a place, as you choose'],
    ])
    expect(page.isPast).toBe(false)
    expect(page.isCancelled).toBe(false)
    expect(page.registrationOpen).toBe(true)
    expect(page.saved).toBe(false)
    expect(page.submissionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(page.pageUrl).toBe(`${ORIGIN}/events/${IN_PERSON}`)
  })

  test('gives the time in the event’s own zone, with the zone named, and says which zone that is', async () => {
    const page = await loadEvent(IN_PERSON)
    // 18:30 to 21:00 London time, GMT or BST depending on the season the demo date falls in.
    expect(page.when).toMatch(
      /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),? \d{1,2} [A-Z][a-z]+ \d{4}, 18:30 (GMT|BST) to 21:00 (GMT|BST)$/,
    )
    expect(page.timeZoneNote).toBe('Times are in London time')
  })

  test('renders the description from Markdown', async () => {
    const page = await loadEvent(IN_PERSON)
    expect(page.event.descriptionHtml).toContain('<strong>Photography and recording are not allowed</strong>')
  })

  test('offers calendar links built on the server, with the page address and the venue', async () => {
    const { calendar } = await loadEvent(IN_PERSON)
    expect(calendar?.icsUrl).toBe(`/events/${IN_PERSON}/calendar.ics`)
    const google = new URL(calendar!.googleUrl)
    expect(google.origin).toBe('https://calendar.google.com')
    expect(google.searchParams.get('details')).toContain(`${ORIGIN}/events/${IN_PERSON}`)
    expect(google.searchParams.get('location')).toBe('Friends Meeting House, Room 3, 173 Euston Road, London NW1 2BJ')
    expect(google.searchParams.get('ctz')).toBe('Europe/London')
    const outlook = new URL(calendar!.outlookUrl)
    expect(outlook.origin).toBe('https://outlook.live.com')
    expect(outlook.searchParams.get('body')).toContain(`${ORIGIN}/events/${IN_PERSON}`)
  })

  test('never sends the online joining link to the page', async () => {
    const page = await loadEvent(ONLINE)
    const serialised = JSON.stringify(page)
    expect(serialised).not.toContain(ONLINE_URL)
    expect(serialised).not.toContain('meet.example.org')
    expect(serialised).not.toMatch(/online_?url/i)
    expect(page.event.mode).toBe('online')
    expect(page.event.venueName).toBeNull()
    expect(page.placesLabel).toBe('200 places left')
    expect(new URL(page.calendar!.googleUrl).searchParams.get('location')).toBe('Online')
  })

  test('says "Full: join the waitlist" when every place is taken', async () => {
    await db.updateTable('events').set({ places_taken: 12 }).where('slug', '=', IN_PERSON).execute()
    try {
      const page = await loadEvent(IN_PERSON)
      expect(page.placesLabel).toBe('Full: join the waitlist')
      expect(page.full).toBe(true)
      expect(page.registrationOpen).toBe(true)
    } finally {
      await db.updateTable('events').set({ places_taken: 0 }).where('slug', '=', IN_PERSON).execute()
    }
  })

  test('flags a past event: no registration and nothing to add to a calendar', async () => {
    const page = await loadEvent(PAST)
    expect(page.isPast).toBe(true)
    expect(page.registrationOpen).toBe(false)
    expect(page.calendar).toBeNull()
  })

  test('a cancelled event stays readable, as cancelled', async () => {
    await setStatus(IN_PERSON, 'cancelled')
    try {
      const page = await loadEvent(IN_PERSON)
      expect(page.isCancelled).toBe(true)
      expect(page.registrationOpen).toBe(false)
      expect(page.calendar).toBeNull()
    } finally {
      await setStatus(IN_PERSON, 'published')
    }
  })

  test('a draft event is a 404, and so is an unknown one', async () => {
    await setStatus(ONLINE, 'draft')
    try {
      expect((await thrownBy(loadEvent(ONLINE))).status).toBe(404)
    } finally {
      await setStatus(ONLINE, 'published')
    }
    expect((await thrownBy(loadEvent('no-such-event'))).status).toBe(404)
  })

  test('knows whether this browser saved the event', async () => {
    const saverId = await getOrCreateSaver(db, null)
    await saveEvent(db, saverId, witness.eventId)
    const cookie = (await saverCookieHeader(saverId)).split(';')[0]!
    expect((await loadEvent(IN_PERSON, { Cookie: cookie })).saved).toBe(true)
    expect((await loadEvent(ONLINE, { Cookie: cookie })).saved).toBe(false)
  })

  test('gives every page view a fresh submission id', async () => {
    const [first, second] = await Promise.all([loadEvent(IN_PERSON), loadEvent(IN_PERSON)])
    expect(first.submissionId).not.toBe(second.submissionId)
  })
})

describe('the public calendar file', () => {
  test('is a text/calendar attachment with the event in UTC', async () => {
    const response = await loadCalendar(IN_PERSON)
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/calendar; charset=utf-8')
    expect(response.headers.get('Content-Disposition')).toBe(`attachment; filename="${IN_PERSON}.ics"`)
    const body = await response.text()
    expect(body).toMatch(/^BEGIN:VCALENDAR\r\n/)
    expect(body).toContain('SUMMARY:Witness: an evening of testimonies from former detainees')
    expect(body).toMatch(/\r\nDTSTART:\d{8}T\d{6}Z\r\n/)
    expect(body).toMatch(/\r\nDTEND:\d{8}T\d{6}Z\r\n/)
    expect(body).toContain(`UID:event-${witness.eventId}@sanad`)
    expect(body.replace(/\r\n /g, '')).toContain('LOCATION:Friends Meeting House\\, Room 3\\, 173 Euston Road\\, London NW1 2BJ')
  })

  test('never holds the online joining link', async () => {
    const body = await (await loadCalendar(ONLINE)).text()
    const unfolded = body.replace(/\r\n /g, '')
    expect(unfolded).not.toContain('meet.example.org')
    expect(unfolded).toContain('LOCATION:Online')
    expect(unfolded).toContain(`URL:${ORIGIN}/events/${ONLINE}`)
  })

  test('is a 404 for a draft, a cancelled or an unknown event', async () => {
    await setStatus(ONLINE, 'draft')
    await setStatus(IN_PERSON, 'cancelled')
    try {
      expect((await thrownBy(loadCalendar(ONLINE))).status).toBe(404)
      expect((await thrownBy(loadCalendar(IN_PERSON))).status).toBe(404)
      expect((await thrownBy(loadCalendar('no-such-event'))).status).toBe(404)
    } finally {
      await setStatus(ONLINE, 'published')
      await setStatus(IN_PERSON, 'published')
    }
  })
})

describe('the registration action, before registering', () => {
  const invalidCases: Array<[string, Record<string, string | null>, string, RegExp]> = [
    ['a missing name', { name: '' }, 'name', /Enter your name/],
    ['a malformed email', { email: 'not-an-email' }, 'email', /right format/],
    ['too many places', { quantity: '5' }, 'quantity', /You can book up to 4 places at once/],
    ['no privacy consent', { privacyConsent: null }, 'privacyConsent', /Please agree to the privacy notice/],
    ['a price below the minimum', { ticketTypeId: 'PWYC', chosenPrice: '2' }, 'chosenPrice', /The minimum for this ticket is £3\.00/],
    ['access needs that are too long', { accessNeeds: 'a'.repeat(1001) }, 'accessNeeds', /1000 characters or fewer/],
    ['a ticket from another event', { ticketTypeId: crypto.randomUUID() }, 'ticketTypeId', /Choose one of the tickets/],
  ]

  test.each(invalidCases)('rejects %s with a 400, keeps the values and writes nothing', async (_case, overrides, field, message) => {
    const before = await rowCounts()
    const fields = { ...overrides }
    if (fields.ticketTypeId === 'PWYC') fields.ticketTypeId = witness.payWhatYouCan
    const { status, reply } = asReply(await register(IN_PERSON, validForm(fields)))
    expect(status).toBe(400)
    expect(reply.status).toBe('error')
    expect(reply.error?.[field]?.[0]).toMatch(message)
    expect(reply.initialValue?.email).toBe(overrides.email ?? 'maryam@example.org')
    expect(await rowCounts()).toEqual(before)
    expect(registerForEvent).not.toHaveBeenCalled()
  })

  test('rejects a filled honeypot with a generic form error and does nothing else', async () => {
    const before = await rowCounts()
    const { status, reply } = asReply(await register(IN_PERSON, validForm({ website: 'https://spam.example' })))
    expect(status).toBe(400)
    expect(reply.error?.['']).toEqual(['We could not register you. Please check the form and try again.'])
    expect(reply.initialValue?.website).toBeUndefined()
    expect(await rowCounts()).toEqual(before)
    expect(registerForEvent).not.toHaveBeenCalled()
  })

  test('refuses a cancelled event with a form error', async () => {
    await setStatus(IN_PERSON, 'cancelled')
    try {
      const { status, reply } = asReply(await register(IN_PERSON, validForm()))
      expect(status).toBe(400)
      expect(reply.error?.['']).toEqual(['This event has been cancelled'])
      expect(registerForEvent).not.toHaveBeenCalled()
    } finally {
      await setStatus(IN_PERSON, 'published')
    }
  })

  test('refuses a past event with a form error', async () => {
    const dinner = await ticketIds(PAST)
    const { status, reply } = asReply(await register(PAST, validForm({ ticketTypeId: dinner.first, quantity: '1' })))
    expect(status).toBe(400)
    expect(reply.error?.['']).toEqual(['This event has already taken place'])
    expect(registerForEvent).not.toHaveBeenCalled()
  })

  test('a draft event takes no registrations: 404', async () => {
    await setStatus(IN_PERSON, 'draft')
    try {
      expect((await thrownBy(register(IN_PERSON, validForm()))).status).toBe(404)
    } finally {
      await setStatus(IN_PERSON, 'published')
    }
  })
})

describe('the registration action, answering what the registrations module decided', () => {
  test('hands a valid registration over with the origin and client address', async () => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'confirmed', registrationId: 'r1', manageUrl: MANAGE_URL })
    const submissionId = crypto.randomUUID()
    await register(
      IN_PERSON,
      validForm({
        submissionId,
        ticketTypeId: witness.payWhatYouCan,
        chosenPrice: '7.50',
        quantity: '3',
        accessNeeds: '  A seat near the door  ',
      }),
    )
    expect(registerForEvent).toHaveBeenCalledTimes(1)
    const [, request, context] = vi.mocked(registerForEvent).mock.calls[0]!
    expect(request).toEqual({
      eventId: witness.eventId,
      ticketTypeId: witness.payWhatYouCan,
      submissionId,
      name: 'Maryam Test',
      email: 'maryam@example.org',
      quantity: 3,
      accessNeeds: 'A seat near the door',
      chosenPriceMinor: 750,
    })
    expect(context).toEqual({ origin: ORIGIN, clientIp: '203.0.113.9' })
  })

  // docs/decisions/021: every free outcome answers alike, a 303 to "check your email", so the
  // page never says whether the address was already registered; the link goes by email.
  const toCheckYourEmail: RegistrationOutcome[] = [
    { kind: 'confirmed', registrationId: 'r1', manageUrl: MANAGE_URL },
    { kind: 'waitlisted', registrationId: 'r1', position: 3, manageUrl: MANAGE_URL },
    { kind: 'already-registered', registrationId: 'r1', status: 'confirmed', manageUrl: MANAGE_URL },
    { kind: 'already-registered', registrationId: 'r1', status: 'confirmed', manageUrl: null },
  ]
  test.each(toCheckYourEmail.map((outcome) => [outcome.kind, outcome] as const))(
    '%s: a 303 to the same "check your email" page, never to the signed link',
    async (_kind, outcome) => {
      vi.mocked(registerForEvent).mockResolvedValueOnce(outcome)
      expect(asRedirect(await register(IN_PERSON, validForm()))).toEqual({ status: 303, location: `/events/${IN_PERSON}/registered` })
    },
  )

  test('checkout: a 303 to the payment page', async () => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'checkout', url: 'https://checkout.stripe.com/c/pay/cs_test_1', checkoutSessionId: 'cs_test_1' })
    const result = await register(IN_PERSON, validForm({ ticketTypeId: witness.payWhatYouCan, chosenPrice: '10' }))
    expect(asRedirect(result)).toEqual({ status: 303, location: 'https://checkout.stripe.com/c/pay/cs_test_1' })
  })

  test('rate-limited: a 429 with Retry-After and a message the person can act on', async () => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'rate-limited', retryAfterSeconds: 90 })
    const { status, reply, headers } = asReply(await register(IN_PERSON, validForm()))
    expect(status).toBe(429)
    expect(headers.get('Retry-After')).toBe('90')
    expect(reply.error?.['']).toEqual(['Too many attempts from your connection. Please try again in 2 minutes.'])
  })

  test.each([
    ['cancelled', 'This event has been cancelled'],
    ['past', 'Registration has closed: this event has already started'],
    ['not-found', 'This event is no longer taking registrations'],
  ] as const)('closed (%s): a 400 that says why', async (reason, message) => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'closed', reason })
    const { status, reply } = asReply(await register(IN_PERSON, validForm()))
    expect(status).toBe(400)
    expect(reply.error?.['']).toEqual([message])
  })

  test.each([
    ['ticketTypeId', 'ticketTypeId', 'Choose one of the tickets for this event'],
    ['quantity', 'quantity', 'Only 2 places are left'],
    ['chosenPriceMinor', 'chosenPrice', 'Choose at least the minimum for this ticket'],
  ] as const)('invalid (%s): a 400 with the error beside the %s field', async (field, formField, message) => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'invalid', field, message })
    const { status, reply } = asReply(await register(IN_PERSON, validForm()))
    expect(status).toBe(400)
    expect(reply.error?.[formField]).toEqual([message])
    expect(reply.initialValue?.name).toBe('Maryam Test')
  })

  test('unavailable: a 503 with its message, keeping the submission id for a retry', async () => {
    vi.mocked(registerForEvent).mockResolvedValueOnce({ kind: 'unavailable', message: 'Registration is unavailable just now.' })
    const submissionId = crypto.randomUUID()
    const { status, reply } = asReply(await register(IN_PERSON, validForm({ submissionId })))
    expect(status).toBe(503)
    expect(reply.error?.['']).toEqual(['Registration is unavailable just now.'])
    expect(reply.initialValue?.submissionId).toBe(submissionId)
  })
})
