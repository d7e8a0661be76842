import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { getOrCreateSaver, saveEvent } from '#app/modules/events/saved-events.server.ts'
import { csvCell as csvField } from '#app/utils/csv.ts'
import { CSV_HEADER, registrationsCsvStream } from '#app/modules/registrations/registrations-csv.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { loader as listLoader } from '#app/routes/staff.events._index.tsx'
import { loader as registrationsLoader } from '#app/routes/staff.events.$id.tsx'
import { action as checkInAction, loader as checkInLoader, type CheckInActionData } from '#app/routes/staff.events.$id_.check-in.tsx'
import { loader as csvLoader } from '#app/routes/staff.events.$id_.registrations[.]csv.ts'
import { createEvent, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { cancelRegistration } from '#app/modules/registrations/self-service.server.ts'

const db = getDb()
const args = (request: Request, params: Record<string, string>) => ({ request, params, context: {} })

let staffId: string
let cookie: string

beforeAll(async () => {
  const staff = await createStaff('staff')
  staffId = staff.id
  cookie = await sessionCookieFor(staff.id)
})

type ListData = Awaited<ReturnType<typeof listLoader>>
type RegistrationsData = Awaited<ReturnType<typeof registrationsLoader>>
type CheckInData = Awaited<ReturnType<typeof checkInLoader>>

async function list() {
  const answer = await settle(() => listLoader(args(getRequest('/staff/events', { cookie }), {})))
  expect(answer.status).toBe(200)
  return answer.body as ListData
}

async function registrationsPage(eventId: string) {
  const answer = await settle(() => registrationsLoader(args(getRequest(`/staff/events/${eventId}`, { cookie }), { id: eventId })))
  expect(answer.status).toBe(200)
  return answer.body as RegistrationsData
}

/** The search form, POSTed; then the page it redirects to, whose address carries the search sealed (docs/decisions/022). */
async function searchPage(eventId: string, q: string) {
  const posted = await settle(() => checkInAction(args(postRequest(`/staff/events/${eventId}/check-in`, { intent: 'search', q }, { cookie }), { id: eventId })))
  expect(posted.status).toBe(303)
  const location = posted.headers.get('Location')!
  const answer = await settle(() => checkInLoader(args(getRequest(location, { cookie }), { id: eventId })))
  expect(answer.status).toBe(200)
  return { location, body: answer.body as CheckInData }
}

async function search(eventId: string, q: string) {
  return (await searchPage(eventId, q)).body.results
}

async function checkIn(eventId: string, fields: Record<string, string>, headers?: Record<string, string>) {
  const answer = await settle(() => checkInAction(args(postRequest(`/staff/events/${eventId}/check-in`, fields, { cookie, headers }), { id: eventId })))
  return { status: answer.status, ...(answer.body as CheckInActionData | null) }
}

async function registrationByEmail(email: string) {
  return db.selectFrom('registrations').selectAll().where('email', '=', email).executeTakeFirstOrThrow()
}

async function auditRows(action: string, subjectId: string) {
  return db.selectFrom('audit_log').selectAll().where('action', '=', action).where('subject_id', '=', subjectId).execute()
}

/** A full event: two confirmed (three places), then two waiting (three places). */
async function fullEvent() {
  const event = await createEvent({ capacity: 3 })
  const people = {
    amina: registrationRequest(event, { name: 'Amina Khan', quantity: 2 }),
    bilal: registrationRequest(event, { name: 'Bilal Ahmed' }),
    chloe: registrationRequest(event, { name: 'Chloe Martin' }),
    dawud: registrationRequest(event, { name: 'Dawud Ali', quantity: 2 }),
  }
  for (const person of Object.values(people)) await register(person)
  return { event, people }
}

/** RFC 4180, enough to read back what the export wrote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index]!
    if (quoted) {
      if (character === '"' && text[index + 1] === '"') {
        field += '"'
        index += 1
      } else if (character === '"') quoted = false
      else field += character
    } else if (character === '"') quoted = true
    else if (character === ',') {
      record.push(field)
      field = ''
    } else if (character === '\r' && text[index + 1] === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
      index += 1
    } else field += character
  }
  expect(field, 'the file ends with a line break').toBe('')
  expect(record).toEqual([])
  return records
}

async function readAll(stream: ReadableStream<Uint8Array>) {
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer())
  // The byte order mark Excel needs; a decoder drops it, so look at the bytes.
  expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
  return parseCsv(new TextDecoder().decode(bytes))
}

describe('the events list', () => {
  test('shows capacity, places taken, confirmed, waitlist and saves, upcoming first then past', async () => {
    const { event } = await fullEvent()
    for (let saver = 0; saver < 3; saver += 1) await saveEvent(db, await getOrCreateSaver(db, null), event.eventId)
    const later = await createEvent({ capacity: 10, startsInHours: 24 * 60 })
    const past = await createEvent({ capacity: 10, startsInHours: -24 * 30 })
    const olderPast = await createEvent({ capacity: 10, startsInHours: -24 * 60 })
    await db.updateTable('events').set({ status: 'draft' }).where('id', '=', later.eventId).execute()

    const { upcoming, past: pastEvents } = await list()
    const row = upcoming.find((candidate) => candidate.id === event.eventId)
    expect(row).toMatchObject({
      capacity: 3,
      placesTaken: 3,
      confirmedCount: 2,
      confirmedPlaces: 3,
      waitlistCount: 2,
      waitlistPlaces: 3,
      saves: 3,
      status: 'published',
    })
    expect(row!.when).toMatch(/\d{4}, \d{2}:\d{2} (GMT|BST)/)
    // Drafts are listed for staff, and an event nobody saved counts 0.
    expect(upcoming.find((candidate) => candidate.id === later.eventId)).toMatchObject({ status: 'draft', saves: 0, confirmedCount: 0, waitlistCount: 0 })
    const upcomingIds = upcoming.map((candidate) => candidate.id)
    expect(upcomingIds.indexOf(event.eventId)).toBeLessThan(upcomingIds.indexOf(later.eventId))
    const pastIds = pastEvents.map((candidate) => candidate.id)
    expect(pastIds.indexOf(past.eventId)).toBeLessThan(pastIds.indexOf(olderPast.eventId))
    expect(upcomingIds).not.toContain(past.eventId)
  })
})

describe('the registrations of an event', () => {
  test('confirmed, the waitlist in first-in first-out order, offers with their expiry, cancelled', async () => {
    const { event, people } = await fullEvent()
    const eve = registrationRequest(event, { name: 'Eve Odeh', accessNeeds: 'Step-free access' })
    await register(eve)
    // The queue is by when each person confirmed their place on it (ADR 023), not by creation:
    // move Eve to the front to prove it.
    const chloe = await registrationByEmail(people.chloe.email)
    await db
      .updateTable('registrations')
      .set({ waitlisted_at: new Date(chloe.waitlisted_at!.getTime() - 60_000), waitlist_confirmed_at: new Date(chloe.waitlist_confirmed_at!.getTime() - 60_000) })
      .where('email', '=', eve.email)
      .execute()

    const before = await registrationsPage(event.eventId)
    expect(before.confirmed.map((registration) => registration.name)).toEqual(['Amina Khan', 'Bilal Ahmed'])
    expect(before.confirmed[0]).toMatchObject({ email: people.amina.email, quantity: 2, ticketName: 'Free place', checkedInAt: null })
    expect(before.waitlist.map((registration) => [registration.position, registration.name])).toEqual([
      [1, 'Eve Odeh'],
      [2, 'Chloe Martin'],
      [3, 'Dawud Ali'],
    ])
    expect(before.waitlist[0]!.accessNeeds).toBe('Step-free access')

    // Bilal's one place goes to the first person waiting, who is Eve.
    await cancelRegistration(db, (await registrationByEmail(people.bilal.email)).id)
    const after = await registrationsPage(event.eventId)
    expect(after.offered.map((registration) => registration.name)).toEqual(['Eve Odeh'])
    expect(after.offered[0]!.offerExpiresAt).toMatch(/\d{2}:\d{2}/)
    expect(after.waitlist.map((registration) => [registration.position, registration.name])).toEqual([
      [1, 'Chloe Martin'],
      [2, 'Dawud Ali'],
    ])
    expect(after.ended.map((registration) => [registration.name, registration.status])).toEqual([['Bilal Ahmed', 'cancelled']])
  })

  test('an unknown or malformed event id is a 404', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const answer = await settle(() => registrationsLoader(args(getRequest(`/staff/events/${id}`, { cookie }), { id })))
      expect(answer.status).toBe(404)
    }
  })
})

describe('check-in', () => {
  test('by code: checked in once, with an audit row; a second time says when', async () => {
    const { event, people } = await fullEvent()
    const amina = await registrationByEmail(people.amina.email)
    expect(amina.checkin_token).toBeTruthy()

    const first = await checkIn(event.eventId, { token: ` ${amina.checkin_token!} ` })
    expect(first).toMatchObject({ status: 200, ok: true, message: 'Checked in: Amina Khan, 2 places', token: '' })
    const checkedIn = await registrationByEmail(people.amina.email)
    expect(checkedIn.checked_in_at).toBeInstanceOf(Date)
    const audit = await auditRows('registration.check_in', amina.id)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ staff_user_id: staffId, subject_type: 'registration', details: { eventId: event.eventId, method: 'code' } })

    const second = await checkIn(event.eventId, { token: amina.checkin_token! })
    expect(second.ok).toBe(false)
    const clock = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(checkedIn.checked_in_at!)
    expect(second.message).toBe(`Already checked in at ${clock}: Amina Khan`)
    expect((await registrationByEmail(people.amina.email)).checked_in_at).toEqual(checkedIn.checked_in_at)
    expect(await auditRows('registration.check_in', amina.id)).toHaveLength(1)
  })

  test('two door staff scanning the same code at once check it in once', async () => {
    const { event, people } = await fullEvent()
    const { checkin_token: token, id } = await registrationByEmail(people.bilal.email)
    const answers = await Promise.all([checkIn(event.eventId, { token: token! }), checkIn(event.eventId, { token: token! })])
    expect(answers.filter((answer) => answer.ok)).toHaveLength(1)
    expect(answers.find((answer) => !answer.ok)!.message).toMatch(/^Already checked in at \d{2}:\d{2}/)
    expect(await auditRows('registration.check_in', id)).toHaveLength(1)
  })

  test('by search: prefix or contains, any case, confirmed people only; then the button checks in', async () => {
    const { event, people } = await fullEvent()
    expect((await search(event.eventId, 'ami'))!.map((result) => result.name)).toEqual(['Amina Khan'])
    expect((await search(event.eventId, 'KHAN'))!.map((result) => result.name)).toEqual(['Amina Khan'])
    expect((await search(event.eventId, people.bilal.email.slice(4, 12).toUpperCase()))!.map((result) => result.name)).toEqual(['Bilal Ahmed'])
    // Waiting people are not at the door; wildcards are searched for, not obeyed.
    expect(await search(event.eventId, 'Chloe')).toEqual([])
    expect(await search(event.eventId, '%')).toEqual([])
    expect(await search(event.eventId, '_')).toEqual([])
    // Prefix matches come first.
    const both = await search(event.eventId, 'a')
    expect(both!.map((result) => result.name)).toEqual(['Amina Khan', 'Bilal Ahmed'])
    expect(await search(event.eventId, '   ')).toBeNull()

    const [bilal] = (await search(event.eventId, 'bilal'))!
    const answer = await checkIn(event.eventId, { registrationId: bilal!.id })
    expect(answer).toMatchObject({ ok: true, message: 'Checked in: Bilal Ahmed, 1 place' })
    expect((await search(event.eventId, 'bilal'))![0]!.checkedInAt).toMatch(/^\d{2}:\d{2}$/)
    expect((await auditRows('registration.check_in', bilal!.id))[0]).toMatchObject({ details: { method: 'search' } })
    expect((await checkIn(event.eventId, { registrationId: bilal!.id })).message).toMatch(/^Already checked in at \d{2}:\d{2}/)
  })

  test('a name or email searched at the door is in no address, and one in the address is not searched', async () => {
    const { event, people } = await fullEvent()
    for (const q of ['Amina Khan', people.amina.email]) {
      const { location, body } = await searchPage(event.eventId, q)
      expect(body.results!.map((result) => result.name)).toEqual(['Amina Khan'])
      const decoded = decodeURIComponent(location).toLowerCase()
      expect(decoded).not.toContain('amina')
      expect(decoded).not.toContain('@')
      expect(location).toMatch(new RegExp(`^/staff/events/${event.eventId}/check-in\\?s=[A-Za-z0-9_-]+$`))
    }
    const bare = await settle(() => checkInLoader(args(getRequest(`/staff/events/${event.eventId}/check-in?q=Amina`, { cookie }), { id: event.eventId })))
    expect((bare.body as CheckInData).results).toBeNull()
  })

  test('a code of another event is refused and changes nothing', async () => {
    const { people } = await fullEvent()
    const other = await createEvent({ capacity: 5 })
    const amina = await registrationByEmail(people.amina.email)
    const answer = await checkIn(other.eventId, { token: amina.checkin_token! })
    expect(answer).toMatchObject({ status: 200, ok: false, message: 'Not a confirmed registration for this event', token: amina.checkin_token })
    const byId = await checkIn(other.eventId, { registrationId: amina.id })
    expect(byId.message).toBe('Not a confirmed registration for this event')
    expect((await registrationByEmail(people.amina.email)).checked_in_at).toBeNull()
    expect(await auditRows('registration.check_in', amina.id)).toHaveLength(0)
  })

  test('a waitlisted or cancelled person cannot be checked in', async () => {
    const { event, people } = await fullEvent()
    const chloe = await registrationByEmail(people.chloe.email)
    expect(chloe.status).toBe('waitlisted')
    expect((await checkIn(event.eventId, { registrationId: chloe.id })).message).toBe('Not a confirmed registration for this event')
    const amina = await registrationByEmail(people.amina.email)
    await cancelRegistration(db, amina.id)
    expect((await checkIn(event.eventId, { token: amina.checkin_token! })).message).toBe('Not a confirmed registration for this event')
    const rows = await registrationsOf(event.eventId)
    expect(rows.filter((row) => row.checked_in_at !== null)).toEqual([])
  })

  test('an unknown code, and a form with neither field', async () => {
    const { event } = await fullEvent()
    expect((await checkIn(event.eventId, { token: 'no-such-code' })).message).toBe('No registration with that code')
    expect((await checkIn(event.eventId, { registrationId: randomUUID() })).message).toBe('No registration with that code')
    expect(await checkIn(event.eventId, { token: '' })).toMatchObject({ status: 400, ok: false })
    expect(await checkIn(event.eventId, { registrationId: 'not-a-uuid' })).toMatchObject({ status: 400, ok: false })
  })

  test('a cross-site POST is refused with 403 and changes nothing', async () => {
    const { event, people } = await fullEvent()
    const amina = await registrationByEmail(people.amina.email)
    const crossSite: Record<string, string>[] = [{ Origin: 'https://attacker.example' }, { 'Sec-Fetch-Site': 'cross-site' }]
    for (const headers of crossSite) {
      const answer = await checkIn(event.eventId, { token: amina.checkin_token! }, headers)
      expect(answer.status).toBe(403)
    }
    expect((await registrationByEmail(people.amina.email)).checked_in_at).toBeNull()
    expect(await auditRows('registration.check_in', amina.id)).toHaveLength(0)
  })
})

describe('the CSV export', () => {
  const awkward = [
    { name: 'Smith, Jane', accessNeeds: null },
    { name: 'Omar "Abu" Hassan', accessNeeds: 'Wheelchair user,\nneeds a ramp' },
    { name: '=HYPERLINK("https://evil.example","Click")', accessNeeds: '+44 20 7946 0000' },
    { name: '@SUM(A1:A9)', accessNeeds: '-1 step at the door' },
    { name: 'زينب الحسيني', accessNeeds: '\tTab first' },
  ]

  async function eventWithAwkwardNames() {
    const event = await createEvent({ capacity: 4 })
    const requests = awkward.map((person) => registrationRequest(event, person))
    for (const request of requests) await register(request)
    return { event, requests }
  }

  test('streams every registration once, quoted by RFC 4180, with formulas neutralised, and is audited', async () => {
    const { event, requests } = await eventWithAwkwardNames()
    const response = await csvLoader(args(getRequest(`/staff/events/${event.eventId}/registrations.csv`, { cookie }), { id: event.eventId }))
    expect(response).toBeInstanceOf(Response)
    expect(response.headers.get('Content-Type')).toMatch(/^text\/csv; charset=utf-8/)
    expect(response.headers.get('Content-Disposition')).toMatch(/^attachment; filename="registrations-event-[a-z0-9-]+\.csv"$/)
    expect(response.headers.get('Cache-Control')).toBe('no-store')

    const [header, ...records] = await readAll(response.body!)
    expect(header).toEqual([...CSV_HEADER])
    expect(records.map((record) => record[2]).sort()).toEqual(requests.map((request) => request.email).sort())
    const byEmail = new Map(records.map((record) => [record[2], record]))

    expect(byEmail.get(requests[0]!.email)!.slice(1, 7)).toEqual(['Smith, Jane', requests[0]!.email, 'confirmed', 'Free place', '1', ''])
    expect(byEmail.get(requests[1]!.email)![1]).toBe('Omar "Abu" Hassan')
    expect(byEmail.get(requests[1]!.email)![6]).toBe('Wheelchair user,\nneeds a ramp')
    expect(byEmail.get(requests[2]!.email)![1]).toBe(`'=HYPERLINK("https://evil.example","Click")`)
    expect(byEmail.get(requests[2]!.email)![6]).toBe(`'+44 20 7946 0000`)
    expect(byEmail.get(requests[3]!.email)![1]).toBe(`'@SUM(A1:A9)`)
    expect(byEmail.get(requests[3]!.email)![6]).toBe(`'-1 step at the door`)
    expect(byEmail.get(requests[4]!.email)![1]).toBe('زينب الحسيني')
    expect(byEmail.get(requests[4]!.email)![6]).toBe(`'\tTab first`)
    // Capacity 4: the fifth person waits, first in line.
    expect(byEmail.get(requests[4]!.email)!.slice(3, 4).concat(byEmail.get(requests[4]!.email)![8]!)).toEqual(['waitlisted', '1'])
    expect(byEmail.get(requests[0]!.email)![8]).toBe('')
    expect(byEmail.get(requests[0]!.email)![0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)

    const audit = await auditRows('registrations.export', event.eventId)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ staff_user_id: staffId, subject_type: 'event' })
  })

  test('keyset pages return each row once, even when rows share a timestamp to the microsecond', async () => {
    const { event, requests } = await eventWithAwkwardNames()
    const extra = Array.from({ length: 6 }, (_, index) => registrationRequest(event, { name: `Extra ${index}` }))
    for (const request of extra) await register(request)
    // Microseconds a JS Date cannot hold, shared by several rows: the cursor must still move on.
    const rows = await registrationsOf(event.eventId)
    for (const [index, row] of rows.entries()) {
      await sql`update registrations set created_at = ${`2025-03-01 10:00:00.${index < 6 ? '123456' : '123999'}+00`}::timestamptz where id = ${row.id}`.execute(db)
    }
    for (const pageSize of [1, 2, 3, 100]) {
      const [, ...records] = await readAll(registrationsCsvStream(db, event.eventId, { pageSize }))
      expect(records.map((record) => record[2]).sort(), `page size ${pageSize}`).toEqual([...requests, ...extra].map((request) => request.email).sort())
    }
  })

  test('reads one page at a time as the client takes them', async () => {
    const { event } = await eventWithAwkwardNames()
    const reader = registrationsCsvStream(db, event.eventId, { pageSize: 2 }).getReader()
    const chunks: string[] = []
    const decoder = new TextDecoder()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(decoder.decode(value))
    }
    // The header, then pages of 2, 2 and 1 records.
    expect(chunks).toHaveLength(4)
    expect(chunks.slice(1).map((chunk) => parseCsv(chunk).length)).toEqual([2, 2, 1])
  })

  test('fields', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('line\r\nbreak')).toBe('"line\r\nbreak"')
    expect(csvField('=1+1')).toBe("'=1+1")
    expect(csvField('=A1,"x"')).toBe(`"'=A1,""x"""`)
    expect(csvField(null)).toBe('')
    expect(csvField(3)).toBe('3')
  })

  test('an unknown event is a 404 and writes no audit row', async () => {
    const id = randomUUID()
    const answer = await settle(() => csvLoader(args(getRequest(`/staff/events/${id}/registrations.csv`, { cookie }), { id })))
    expect(answer.status).toBe(404)
    expect(await auditRows('registrations.export', id)).toHaveLength(0)
  })
})
