import { randomUUID } from 'node:crypto'
import ICAL from 'ical.js'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { localTimeToInstant } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { renderEmail } from '#emails/index.ts'
import { formatEventWhen } from '#emails/layout.tsx'
import { action as editAction, loader as editLoader } from '#app/routes/staff.events.$id_.edit.tsx'
import { action as newAction, loader as newLoader } from '#app/routes/staff.events.new.tsx'
import { createEvent as createFixtureEvent, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { getEventForEditing } from '#app/modules/events/event-admin.server.ts'
import { loader as calendarLoader } from '#app/routes/events.$slug_.calendar[.]ics.ts'

const db = getDb()
const args = (request: Request, params: Record<string, string> = {}) => ({ request, params, context: {} })

let staffId: string
let cookie: string

beforeAll(async () => {
  const staff = await createStaff('staff')
  staffId = staff.id
  cookie = await sessionCookieFor(staff.id)
})

type Reply = { status?: string; error?: Record<string, string[] | null> | null }

function validForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    title: 'Rights night',
    slug: `rights-night-${randomUUID().slice(0, 8)}`,
    summary: 'An evening of talks',
    description: 'We meet to **talk**.',
    startsAt: '2027-06-14T18:30',
    endsAt: '2027-06-14T21:00',
    timeZone: 'Europe/London',
    mode: 'in_person',
    venueName: 'Community hall',
    venueAddress: '1 High Street, London',
    accessNotes: 'Step-free entrance',
    onlineUrl: '',
    organiserName: 'CAGE',
    capacity: '40',
    maxPerOrder: '4',
    status: 'published',
    'tickets[0].name': 'Standard',
    'tickets[0].kind': 'paid',
    'tickets[0].price': '12.50',
    'tickets[0].minPrice': '',
    'tickets[0].currency': 'GBP',
    'tickets[1].name': 'Solidarity',
    'tickets[1].kind': 'pay_what_you_can',
    'tickets[1].price': '10',
    'tickets[1].minPrice': '3',
    'tickets[1].currency': 'GBP',
    'tickets[2].name': '',
    'tickets[2].kind': 'free',
    'tickets[2].price': '',
    'tickets[2].minPrice': '',
    'tickets[2].currency': 'GBP',
    ...overrides,
  }
}

async function create(fields: Record<string, string>) {
  return settle(() => newAction(args(postRequest('/staff/events/new', fields, { cookie }))))
}

async function edit(eventId: string, fields: Record<string, string>) {
  return settle(() => editAction(args(postRequest(`/staff/events/${eventId}/edit`, fields, { cookie }), { id: eventId })))
}

/** The edit form as the page fills it in, so a test changes only what it means to change. */
async function editForm(eventId: string, overrides: Record<string, string> = {}) {
  const event = await getEventForEditing(db, eventId)
  if (!event) throw new Error('no such event')
  const fields: Record<string, string> = {}
  for (const [key, value] of Object.entries(event.defaultValue)) {
    if (key === 'tickets') continue
    fields[key] = String(value)
  }
  event.defaultValue.tickets.forEach((ticket, index) => {
    for (const [key, value] of Object.entries(ticket)) {
      if (key !== 'locked' && value !== undefined) fields[`tickets[${index}].${key}`] = String(value)
    }
  })
  return { ...fields, ...overrides }
}

async function counts() {
  const row = await sql<{ events: number; tickets: number; audit: number }>`
    select (select count(*) from events)::int as events, (select count(*) from ticket_types)::int as tickets,
           (select count(*) from audit_log)::int as audit`.execute(db)
  return row.rows[0]!
}

const errorsOf = (answer: { body: unknown }) => (answer.body as Reply).error ?? {}

describe('creating an event', () => {
  test('the new-event page loads for staff with blank ticket rows', async () => {
    const answer = await settle(() => newLoader(args(getRequest('/staff/events/new', { cookie }))))
    expect(answer.status).toBe(200)
    const body = answer.body as Awaited<ReturnType<typeof newLoader>>
    expect(body.defaultValue.tickets).toHaveLength(3)
    expect(body.timeZones).toContain('Europe/London')
  })

  test('stores the event in UTC, prices in minor units, and audits it', async () => {
    const form = validForm()
    const answer = await create(form)
    expect(answer.status).toBe(303)
    const event = await db.selectFrom('events').selectAll().where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    expect(answer.headers.get('Location')).toBe(`/staff/events/${event.id}`)
    // 18:30 British Summer Time is 17:30 UTC.
    expect(event.starts_at.toISOString()).toBe('2027-06-14T17:30:00.000Z')
    expect(event.ends_at.toISOString()).toBe('2027-06-14T20:00:00.000Z')
    expect(event).toMatchObject({ status: 'published', capacity: 40, max_per_order: 4, online_url: null, created_at: expect.any(Date) })
    expect(event.published_at).not.toBeNull()
    const tickets = await db.selectFrom('ticket_types').selectAll().where('event_id', '=', event.id).orderBy('position').execute()
    expect(tickets.map((t) => [t.name, t.kind, Number(t.price_minor), Number(t.min_price_minor), t.currency.trim()])).toEqual([
      ['Standard', 'paid', 1250, 0, 'GBP'],
      ['Solidarity', 'pay_what_you_can', 1000, 300, 'GBP'],
    ])
    const audit = await db.selectFrom('audit_log').selectAll().where('subject_id', '=', event.id).orderBy('id').execute()
    expect(audit.map((row) => row.action)).toEqual(['event.create', 'event.publish'])
    expect(audit[0]!.staff_user_id).toBe(staffId)
  })

  test('zero-decimal currencies are stored as whole units', async () => {
    const form = validForm({ 'tickets[0].currency': 'JPY', 'tickets[0].price': '1500', 'tickets[1].name': '', 'tickets[1].price': '', 'tickets[1].minPrice': '' })
    expect((await create(form)).status).toBe(303)
    const ticket = await db
      .selectFrom('ticket_types as t')
      .innerJoin('events as e', 'e.id', 't.event_id')
      .select(['t.price_minor'])
      .where('e.slug', '=', form.slug!)
      .executeTakeFirstOrThrow()
    expect(Number(ticket.price_minor)).toBe(1500)
  })

  test('bad input answers 400 with an error beside each field, keeps the values and writes nothing', async () => {
    const before = await counts()
    const answer = await create(
      validForm({
        title: '',
        slug: 'Not a slug!',
        timeZone: 'Europe/Atlantis',
        capacity: 'lots',
        'tickets[0].price': '12.505',
        'tickets[1].minPrice': '20',
        'tickets[2].price': '5',
      }),
    )
    expect(answer.status).toBe(400)
    const errors = errorsOf(answer)
    expect(Object.keys(errors).filter((key) => errors[key]?.length)).toEqual(
      expect.arrayContaining(['title', 'slug', 'timeZone', 'capacity', 'tickets[0].price', 'tickets[1].price', 'tickets[2].name']),
    )
    expect((answer.body as { initialValue: Record<string, unknown> }).initialValue).toMatchObject({ slug: 'Not a slug!', summary: 'An evening of talks' })
    expect(await counts()).toEqual(before)
  })

  test('staff can raise the unpaid bookings one connection may hold for this event; blank keeps the setting, nonsense is a field error (issue 14)', async () => {
    const form = validForm({ unpaidHoldsPerClient: '60' })
    expect((await create(form)).status).toBe(303)
    const event = await db.selectFrom('events').selectAll().where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    expect(event.unpaid_holds_per_client).toBe(60)
    // The edit page shows it, and clearing it goes back to the setting.
    expect((await editForm(event.id)).unpaidHoldsPerClient).toBe('60')
    expect((await edit(event.id, await editForm(event.id, { unpaidHoldsPerClient: '' }))).status).toBe(303)
    expect((await db.selectFrom('events').select('unpaid_holds_per_client').where('id', '=', event.id).executeTakeFirstOrThrow()).unpaid_holds_per_client).toBeNull()
    const before = await counts()
    for (const bad of ['0', 'lots', '-3']) {
      const answer = await create(validForm({ unpaidHoldsPerClient: bad }))
      expect(answer.status).toBe(400)
      expect(errorsOf(answer).unpaidHoldsPerClient?.[0]).toMatch(/unpaid bookings from one connection/)
    }
    expect(await counts()).toEqual(before)
  })

  test('staff can raise the registrations one connection may make for this event in ten minutes; blank keeps the setting; less than the setting, more than 10,000 or nonsense is a field error (issue 13)', async () => {
    const form = validForm({ registrationRateLimit: '600' })
    expect((await create(form)).status).toBe(303)
    const event = await db.selectFrom('events').selectAll().where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    expect(event.registration_rate_limit).toBe(600)
    const audit = async () =>
      (await db.selectFrom('audit_log').select(['action', 'details']).where('subject_id', '=', event.id).where('action', '=', 'event.limits').orderBy('id').execute()).map(
        (row) => row.details,
      )
    expect(await audit()).toEqual([{ 'registrations in ten minutes': 'the setting → 600' }])
    // The edit page shows it; raising it again, then clearing it, are each audited.
    expect((await editForm(event.id)).registrationRateLimit).toBe('600')
    expect((await edit(event.id, await editForm(event.id, { registrationRateLimit: '1000' }))).status).toBe(303)
    expect((await edit(event.id, await editForm(event.id, { registrationRateLimit: '' }))).status).toBe(303)
    expect((await db.selectFrom('events').select('registration_rate_limit').where('id', '=', event.id).executeTakeFirstOrThrow()).registration_rate_limit).toBeNull()
    expect(await audit()).toEqual([
      { 'registrations in ten minutes': 'the setting → 600' },
      { 'registrations in ten minutes': '600 → 1000' },
      { 'registrations in ten minutes': '1000 → the setting' },
    ])
    const before = await counts()
    for (const [bad, message] of [
      ['199', /must be at least 200, the usual limit/],
      ['0', /must be at least 1/],
      ['10001', /must be 10,000 or fewer/],
      ['lots', /as a whole number/],
      ['250.5', /as a whole number/],
    ] as const) {
      const answer = await create(validForm({ registrationRateLimit: bad }))
      expect(answer.status, bad).toBe(400)
      expect(errorsOf(answer).registrationRateLimit?.[0], bad).toMatch(message)
    }
    // The unpaid bookings' own limit likewise only raises the setting (20).
    const lower = await create(validForm({ unpaidHoldsPerClient: '19' }))
    expect(lower.status).toBe(400)
    expect(errorsOf(lower).unpaidHoldsPerClient?.[0]).toMatch(/must be at least 20, the usual limit/)
    expect(await counts()).toEqual(before)
  })

  test('a KWD ticket price Stripe cannot charge (not ending in 0) is a field error, and nothing is written', async () => {
    const before = await counts()
    const answer = await create(validForm({ 'tickets[0].currency': 'KWD', 'tickets[0].price': '12.505' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer)['tickets[0].price']?.[0]).toMatch(/Amounts in KWD must end in 0/)
    expect(await counts()).toEqual(before)
  })

  test('an end before the start, and an online event without a link, are field errors', async () => {
    const answer = await create(validForm({ endsAt: '2027-06-14T17:00', mode: 'online', venueName: '', venueAddress: '' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer)).toMatchObject({ endsAt: [expect.stringMatching(/end after/)], onlineUrl: [expect.any(String)] })
  })

  test('a slug already in use is a field error, and nothing is written', async () => {
    const first = validForm()
    expect((await create(first)).status).toBe(303)
    const before = await counts()
    const answer = await create(validForm({ slug: first.slug!, title: 'Another' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer).slug?.[0]).toMatch(/already uses this slug/)
    expect(await counts()).toEqual(before)
  })

  test('publishing needs a ticket type', async () => {
    const answer = await create(validForm({ 'tickets[0].name': '', 'tickets[0].price': '', 'tickets[1].name': '', 'tickets[1].price': '', 'tickets[1].minPrice': '' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer).status?.[0]).toMatch(/at least one ticket/)
  })
})

describe('daylight saving in Europe/London', () => {
  test('2027-03-28 01:30 does not exist (the clocks jump from 01:00 to 02:00): refused with a field error', async () => {
    expect(localTimeToInstant('2027-03-28T01:30', 'Europe/London')).toEqual({ ok: false, reason: 'nonexistent' })
    const before = await counts()
    const answer = await create(validForm({ startsAt: '2027-03-28T01:30', endsAt: '2027-03-28T04:00' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer).startsAt?.[0]).toMatch(/does not exist/)
    expect(await counts()).toEqual(before)
  })

  test('2027-10-31 01:30 happens twice: stored as the first, 01:30 BST (00:30 UTC), and read back as 01:30', async () => {
    expect(localTimeToInstant('2027-10-31T01:30', 'Europe/London')).toEqual({ ok: true, instant: new Date('2027-10-31T00:30:00Z'), ambiguous: true })
    const form = validForm({ startsAt: '2027-10-31T01:30', endsAt: '2027-10-31T03:00' })
    expect((await create(form)).status).toBe(303)
    const event = await db.selectFrom('events').selectAll().where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    expect(event.starts_at.toISOString()).toBe('2027-10-31T00:30:00.000Z')
    // 03:00 GMT, after the change.
    expect(event.ends_at.toISOString()).toBe('2027-10-31T03:00:00.000Z')
    const editing = await getEventForEditing(db, event.id)
    expect(editing?.defaultValue).toMatchObject({ startsAt: '2027-10-31T01:30', endsAt: '2027-10-31T03:00' })
  })

  test('an edit that leaves the time alone keeps an event stored at the second 01:30 where it was', async () => {
    const form = validForm()
    expect((await create(form)).status).toBe(303)
    const { id } = await db.selectFrom('events').select('id').where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    const secondOneThirty = new Date('2027-10-31T01:30:00Z')
    await db.updateTable('events').set({ starts_at: secondOneThirty, ends_at: new Date('2027-10-31T03:00:00Z') }).where('id', '=', id).execute()
    expect((await edit(id, await editForm(id, { title: 'Renamed' }))).status).toBe(303)
    const event = await db.selectFrom('events').select(['title', 'starts_at']).where('id', '=', id).executeTakeFirstOrThrow()
    expect(event).toEqual({ title: 'Renamed', starts_at: secondOneThirty })
  })

  test('other zones convert across their own changes (New York, spring forward)', () => {
    expect(localTimeToInstant('2027-03-14T02:30', 'America/New_York')).toEqual({ ok: false, reason: 'nonexistent' })
    expect(localTimeToInstant('2027-03-14T03:30', 'America/New_York')).toMatchObject({ ok: true, instant: new Date('2027-03-14T07:30:00Z') })
    expect(localTimeToInstant('2027-02-30T10:00', 'UTC')).toEqual({ ok: false, reason: 'invalid' })
  })
})

describe('editing an event', () => {
  /** The public calendar file's SEQUENCE, as a calendar app reads it. */
  async function publicSequence(slug: string) {
    const response = await calendarLoader(args(new Request(`http://localhost/events/${slug}/calendar.ics`), { slug }))
    const match = /^SEQUENCE:(\d+)\r?$/m.exec(await response.text())
    if (!match) throw new Error('the public calendar file has no SEQUENCE')
    return Number(match[1])
  }

  test('the public calendar file raises SEQUENCE when the time or place changes, not for a new title', async () => {
    const form = validForm()
    expect((await create(form)).status).toBe(303)
    const { id } = await db.selectFrom('events').select('id').where('slug', '=', form.slug!).executeTakeFirstOrThrow()
    const first = await publicSequence(form.slug!)

    expect((await edit(id, await editForm(id, { title: 'Renamed only' }))).status).toBe(303)
    expect(await publicSequence(form.slug!)).toBe(first)

    expect((await edit(id, await editForm(id, { startsAt: '2027-06-14T19:00' }))).status).toBe(303)
    const afterTime = await publicSequence(form.slug!)
    expect(afterTime).toBeGreaterThan(first)

    expect((await edit(id, await editForm(id, { title: 'Renamed again', summary: 'New words' }))).status).toBe(303)
    expect(await publicSequence(form.slug!)).toBe(afterTime)

    // SEQUENCE counts whole seconds: take the last change back a minute so the next one outranks it.
    await sql`update events set calendar_changed_at = calendar_changed_at - interval '1 minute', updated_at = updated_at - interval '1 minute' where id = ${id}`.execute(db)
    const moved = await publicSequence(form.slug!)
    expect((await edit(id, await editForm(id, { venueName: 'Another hall' }))).status).toBe(303)
    expect(await publicSequence(form.slug!)).toBeGreaterThan(moved)
  })

  test('the edit page loads, and an unknown event is 404', async () => {
    const event = await createFixtureEvent({ capacity: 5 })
    const answer = await settle(() => editLoader(args(getRequest(`/staff/events/${event.eventId}/edit`, { cookie }), { id: event.eventId })))
    expect(answer.status).toBe(200)
    const missing = randomUUID()
    expect((await settle(() => editLoader(args(getRequest(`/staff/events/${missing}/edit`, { cookie }), { id: missing })))).status).toBe(404)
  })

  test('raising the capacity from 1 to 2 offers the freed place to the first person waiting, with an email', async () => {
    const event = await createFixtureEvent({ capacity: 1 })
    const first = registrationRequest(event, { name: 'First' })
    const waitingFirst = registrationRequest(event, { name: 'Waiting first' })
    const waitingSecond = registrationRequest(event, { name: 'Waiting second' })
    for (const person of [first, waitingFirst, waitingSecond]) await register(person)
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['confirmed', 'waitlisted', 'waitlisted'])

    const answer = await edit(event.eventId, await editForm(event.eventId, { capacity: '2' }))
    expect(answer.status).toBe(303)
    expect((await registrationsOf(event.eventId)).map((row) => [row.name, row.status])).toEqual([
      ['First', 'confirmed'],
      ['Waiting first', 'offered'],
      ['Waiting second', 'waitlisted'],
    ])
    const emails = await db.selectFrom('email_outbox').select(['template', 'to_address']).where('template', '=', 'place-offered').where('to_address', 'in', [waitingFirst.email, waitingSecond.email]).execute()
    expect(emails).toEqual([{ template: 'place-offered', to_address: waitingFirst.email }])
    const capacityAudit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'event.capacity').where('subject_id', '=', event.eventId).execute()
    expect(capacityAudit).toHaveLength(1)
    expect(capacityAudit[0]).toMatchObject({ staff_user_id: staffId, details: { from: 1, to: 2, offered: 1 } })
    expect(await db.selectFrom('events').select(['capacity', 'places_taken']).where('id', '=', event.eventId).executeTakeFirstOrThrow()).toEqual({ capacity: 2, places_taken: 2 })
  })

  test('capacity below the places already taken is a field error and nothing changes', async () => {
    const event = await createFixtureEvent({ capacity: 3 })
    await register(registrationRequest(event, { quantity: 2 }))
    const before = await counts()
    const answer = await edit(event.eventId, await editForm(event.eventId, { capacity: '1', title: 'Changed title' }))
    expect(answer.status).toBe(400)
    expect(errorsOf(answer).capacity?.[0]).toMatch(/2 places are already taken/)
    expect(await db.selectFrom('events').select(['capacity', 'title']).where('id', '=', event.eventId).executeTakeFirstOrThrow()).toEqual({ capacity: 3, title: 'Test event' })
    expect(await counts()).toEqual(before)
    // Exactly the places taken is allowed.
    expect((await edit(event.eventId, await editForm(event.eventId, { capacity: '2' }))).status).toBe(303)
  })

  test('a ticket with registrations cannot be removed or repriced; one without can', async () => {
    const event = await createFixtureEvent({ capacity: 10 })
    await register(registrationRequest(event))
    const spare = await db.insertInto('ticket_types').values({ event_id: event.eventId, name: 'Spare', kind: 'free', currency: 'GBP', position: 1 }).returning('id').executeTakeFirstOrThrow()
    const form = await editForm(event.eventId)
    expect(form['tickets[0].id']).toBe(event.ticketTypeId)
    expect(form['tickets[1].id']).toBe(spare.id)

    const repriced = await edit(event.eventId, { ...form, 'tickets[0].kind': 'paid', 'tickets[0].price': '5' })
    expect(repriced.status).toBe(400)
    expect(errorsOf(repriced)['tickets[0].price']?.[0]).toMatch(/cannot change/)

    const removed = await edit(event.eventId, { ...form, 'tickets[0].remove': 'on' })
    expect(removed.status).toBe(400)
    expect(errorsOf(removed)['tickets[0].remove']?.[0]).toMatch(/cannot be removed/)
    expect(await db.selectFrom('ticket_types').select('id').where('event_id', '=', event.eventId).execute()).toHaveLength(2)

    const renamedAndRemoved = await edit(event.eventId, { ...form, 'tickets[0].name': 'General admission', 'tickets[1].remove': 'on', 'tickets[2].name': 'Carer', 'tickets[2].kind': 'free' })
    expect(renamedAndRemoved.status).toBe(303)
    const tickets = await db.selectFrom('ticket_types').select(['id', 'name']).where('event_id', '=', event.eventId).orderBy('position').execute()
    expect(tickets.map((ticket) => ticket.name)).toEqual(['General admission', 'Carer'])
    expect(tickets[0]!.id).toBe(event.ticketTypeId)
  })

  test('unpublishing: refused once people have registered, allowed before, and audited', async () => {
    const busy = await createFixtureEvent({ capacity: 5 })
    await register(registrationRequest(busy))
    const refused = await edit(busy.eventId, await editForm(busy.eventId, { status: 'draft' }))
    expect(refused.status).toBe(400)
    expect(errorsOf(refused).status?.[0]).toMatch(/cannot go back to draft/)

    const quiet = await createFixtureEvent({ capacity: 5 })
    expect((await edit(quiet.eventId, await editForm(quiet.eventId, { status: 'draft' }))).status).toBe(303)
    const row = await db.selectFrom('events').select(['status', 'published_at']).where('id', '=', quiet.eventId).executeTakeFirstOrThrow()
    expect(row).toEqual({ status: 'draft', published_at: null })
    const actions = (await db.selectFrom('audit_log').select('action').where('subject_id', '=', quiet.eventId).orderBy('id').execute()).map((a) => a.action)
    expect(actions).toEqual(['event.edit', 'event.publish'])
  })

  test('a cancelled event cannot be edited', async () => {
    const event = await createFixtureEvent({ capacity: 5 })
    const form = await editForm(event.eventId)
    await db.updateTable('events').set({ status: 'cancelled', cancelled_at: new Date() }).where('id', '=', event.eventId).execute()
    const answer = await edit(event.eventId, form)
    expect(answer.status).toBe(400)
    expect((answer.body as Reply & { error: Record<string, string[]> }).error['']?.[0]).toMatch(/cancelled/)
  })

  test('a viewer cannot create or edit events', async () => {
    const viewer = await createStaff('viewer')
    const viewerCookie = await sessionCookieFor(viewer.id)
    const before = await counts()
    const answer = await settle(() => newAction(args(postRequest('/staff/events/new', validForm(), { cookie: viewerCookie }))))
    expect(answer.status).toBe(403)
    expect(await counts()).toEqual(before)
  })
})

describe('telling registered people when a published event changes', () => {
  const ROOM = 'https://meet.example.org/secret-room'

  /** An online event (no venue) with one confirmed place and one person waiting. */
  async function eventWithTwoPeople() {
    const event = await createFixtureEvent({ capacity: 1, mode: 'online' })
    await db.updateTable('events').set({ venue_name: null, venue_address: null }).where('id', '=', event.eventId).execute()
    const confirmed = registrationRequest(event, { name: 'Confirmed' })
    const waiting = registrationRequest(event, { name: 'Waiting' })
    await register(confirmed)
    await register(waiting)
    const [confirmedRow, waitingRow] = await registrationsOf(event.eventId)
    expect([confirmedRow!.status, waitingRow!.status]).toEqual(['confirmed', 'waitlisted'])
    return { event, confirmed: confirmedRow!, waiting: waitingRow! }
  }

  async function changeEmails(registrationIds: string[]) {
    const keys = registrationIds.map((id) => `event-changed:${id}:%`)
    return db
      .selectFrom('email_outbox')
      .select(['template', 'to_address', 'idempotency_key', 'props', 'attachments'])
      .where((eb) => eb.or(keys.map((key) => eb('idempotency_key', 'like', key))))
      .orderBy('created_at')
      .orderBy('idempotency_key')
      .execute()
  }

  function calendarOf(attachment: { contentBase64: string }) {
    const ics = Buffer.from(attachment.contentBase64, 'base64').toString('utf8')
    const vevent = new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent('vevent')
    if (!vevent) throw new Error('no VEVENT')
    const sequence = vevent.getFirstPropertyValue('sequence')
    if (typeof sequence !== 'number') throw new Error('no SEQUENCE')
    return { uid: vevent.getFirstPropertyValue('uid'), sequence, start: vevent.getFirstPropertyValue('dtstart')?.toString() }
  }

  test('a new start time: one email each, the confirmed place with the link and an updated calendar entry, the waiting one without', async () => {
    const { event, confirmed, waiting } = await eventWithTwoPeople()
    const form = await editForm(event.eventId, { startsAt: '2027-06-14T18:30', endsAt: '2027-06-14T21:00' })
    const before = await db.selectFrom('events').select(['starts_at', 'ends_at']).where('id', '=', event.eventId).executeTakeFirstOrThrow()
    expect((await edit(event.eventId, form)).status).toBe(303)
    const saved = await db.selectFrom('events').select(['updated_at', 'starts_at']).where('id', '=', event.eventId).executeTakeFirstOrThrow()
    expect(saved.starts_at.toISOString()).toBe('2027-06-14T17:30:00.000Z')

    const emails = await changeEmails([confirmed.id, waiting.id])
    expect(emails.map((email) => [email.template, email.to_address, email.idempotency_key]).sort()).toEqual(
      [
        ['event-changed', confirmed.email, `event-changed:${confirmed.id}:${saved.updated_at.getTime()}`],
        ['event-changed', waiting.email, `event-changed:${waiting.id}:${saved.updated_at.getTime()}`],
      ].sort(),
    )
    const toConfirmed = emails.find((email) => email.to_address === confirmed.email)!
    const toWaiting = emails.find((email) => email.to_address === waiting.email)!

    // The calendar entry replaces the confirmation's: same UID, higher SEQUENCE, the new time.
    const confirmation = await db.selectFrom('email_outbox').select('attachments').where('idempotency_key', '=', `registration-confirmed/${confirmed.id}`).executeTakeFirstOrThrow()
    const original = calendarOf(confirmation.attachments.find((file) => file.filename.endsWith('.ics'))!)
    expect(toConfirmed.attachments).toHaveLength(1)
    expect(toConfirmed.attachments[0]!.filename).toMatch(/\.ics$/)
    const updated = calendarOf(toConfirmed.attachments[0]!)
    expect(updated.uid).toBe(original.uid)
    expect(original.sequence).toBe(0)
    expect(updated.sequence).toBeGreaterThan(0)
    expect(updated.start).toBe('2027-06-14T17:30:00Z')

    const confirmedText = (await renderEmail('event-changed', toConfirmed.props)).text
    // Old and new times in the event's zone, the zone named.
    expect(confirmedText).toContain(`Old time\n${formatEventWhen(before.starts_at.toISOString(), before.ends_at.toISOString(), 'Europe/London')}`)
    expect(confirmedText).toMatch(/New time\n.*14 June 2027, 18:30 BST to 21:00 BST \(London time\)/)
    expect(confirmedText).toContain(ROOM)
    expect(confirmedText).toContain(`/registrations/${confirmed.id}?signature=`)

    // The waiting person hears of the new time but gets neither the joining link nor a calendar entry.
    expect(toWaiting.attachments).toEqual([])
    expect(toWaiting.props).toMatchObject({ status: 'waitlisted', onlineUrl: null, hasCalendarAttachment: false })
    const waitingEmail = await renderEmail('event-changed', toWaiting.props)
    expect(waitingEmail.subject).toBe('The details of Test event have changed')
    expect(waitingEmail.html).not.toContain(ROOM)
    expect(waitingEmail.text).not.toContain(ROOM)
    expect(waitingEmail.text).toContain(`/registrations/${waiting.id}?signature=`)

    // The same edit submitted again changes nothing and sends nothing new.
    expect((await edit(event.eventId, form)).status).toBe(303)
    expect(await changeEmails([confirmed.id, waiting.id])).toHaveLength(2)

    // A later change is told again, with a calendar entry that outranks (or at least matches) the first.
    expect((await edit(event.eventId, { ...form, startsAt: '2027-06-14T19:00' })).status).toBe(303)
    const after = await changeEmails([confirmed.id, waiting.id])
    expect(after).toHaveLength(4)
    const second = after.filter((email) => email.to_address === confirmed.email).at(-1)!
    expect(second.idempotency_key).not.toBe(toConfirmed.idempotency_key)
    expect(calendarOf(second.attachments[0]!).sequence).toBeGreaterThanOrEqual(updated.sequence)
    const audit = await db.selectFrom('audit_log').select('details').where('action', '=', 'event.edit').where('subject_id', '=', event.eventId).orderBy('id').execute()
    expect(audit.map((row) => (row.details as { told?: number }).told)).toEqual([2, undefined, 2])
  })

  test('a new description, title or capacity sends nothing', async () => {
    const { event, confirmed, waiting } = await eventWithTwoPeople()
    const answer = await edit(event.eventId, await editForm(event.eventId, { description: 'A new description.', title: 'A new title', capacity: '5' }))
    expect(answer.status).toBe(303)
    expect(await changeEmails([confirmed.id, waiting.id])).toEqual([])
  })

  test('a new joining link goes to the confirmed place only', async () => {
    const { event, confirmed, waiting } = await eventWithTwoPeople()
    expect((await edit(event.eventId, await editForm(event.eventId, { onlineUrl: 'https://meet.example.org/new-room' }))).status).toBe(303)
    const emails = await changeEmails([confirmed.id, waiting.id])
    expect(emails.map((email) => email.to_address)).toEqual([confirmed.email])
    expect(emails[0]!.props).toMatchObject({ changes: ['online-link'], onlineUrl: 'https://meet.example.org/new-room' })
  })

  test('a draft event sends nothing when its time changes', async () => {
    const { event, confirmed, waiting } = await eventWithTwoPeople()
    await db.updateTable('events').set({ status: 'draft' }).where('id', '=', event.eventId).execute()
    const answer = await edit(event.eventId, await editForm(event.eventId, { startsAt: '2027-06-14T18:30', endsAt: '2027-06-14T21:00' }))
    expect(answer.status).toBe(303)
    expect((await db.selectFrom('events').select('starts_at').where('id', '=', event.eventId).executeTakeFirstOrThrow()).starts_at.toISOString()).toBe('2027-06-14T17:30:00.000Z')
    expect(await changeEmails([confirmed.id, waiting.id])).toEqual([])
  })
})
