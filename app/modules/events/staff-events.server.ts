import { sql } from 'kysely'
import type { EventStatus, RegistrationStatus } from '#db/schema.ts'
import { saveCountsByEvent } from '#app/modules/events/saved-events.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { dateTimeFormat } from '#app/utils/intl-cache.ts'
import { verifyCheckinCode } from '#app/utils/signed-links.server.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A malformed id would make PostgreSQL raise on the uuid cast; it simply matches nothing. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value)
}

export type StaffEventRow = {
  id: string
  slug: string
  title: string
  status: EventStatus
  startsAt: Date
  endsAt: Date
  timeZone: string
  capacity: number
  placesTaken: number
  confirmedCount: number
  confirmedPlaces: number
  waitlistCount: number
  waitlistPlaces: number
  saves: number
}

/**
 * Every event, drafts and cancelled ones included: upcoming soonest first, then past ones most
 * recent first. Counts come from one grouped query, so the cost does not grow with each event.
 */
export async function listStaffEvents(db: Database, now = new Date()): Promise<{ upcoming: StaffEventRow[]; past: StaffEventRow[] }> {
  const rows = await db
    .selectFrom('events as e')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('registrations')
          .select('event_id')
          .select([
            sql<number>`count(*) filter (where status = 'confirmed')`.as('confirmed_count'),
            sql<number>`coalesce(sum(quantity) filter (where status = 'confirmed'), 0)::bigint`.as('confirmed_places'),
            sql<number>`count(*) filter (where status = 'waitlisted')`.as('waitlist_count'),
            sql<number>`coalesce(sum(quantity) filter (where status = 'waitlisted'), 0)::bigint`.as('waitlist_places'),
          ])
          .where('status', 'in', ['confirmed', 'waitlisted'])
          .groupBy('event_id')
          .as('r'),
      (join) => join.onRef('r.event_id', '=', 'e.id'),
    )
    .select([
      'e.id',
      'e.slug',
      'e.title',
      'e.status',
      'e.starts_at',
      'e.ends_at',
      'e.time_zone',
      'e.capacity',
      'e.places_taken',
      'r.confirmed_count',
      'r.confirmed_places',
      'r.waitlist_count',
      'r.waitlist_places',
    ])
    .orderBy('e.starts_at', 'asc')
    .orderBy('e.id', 'asc')
    .execute()
  const saves = await saveCountsByEvent(db, rows.map((row) => row.id))
  const events = rows.map(
    (row): StaffEventRow => ({
      id: row.id,
      slug: row.slug,
      title: row.title,
      status: row.status,
      startsAt: row.starts_at,
      endsAt: row.ends_at,
      timeZone: row.time_zone,
      capacity: row.capacity,
      placesTaken: row.places_taken,
      confirmedCount: Number(row.confirmed_count ?? 0),
      confirmedPlaces: Number(row.confirmed_places ?? 0),
      waitlistCount: Number(row.waitlist_count ?? 0),
      waitlistPlaces: Number(row.waitlist_places ?? 0),
      saves: saves.get(row.id) ?? 0,
    }),
  )
  // An event still running counts as upcoming: the door needs it at the top of the list.
  return {
    upcoming: events.filter((event) => event.endsAt >= now),
    past: events.filter((event) => event.endsAt < now).reverse(),
  }
}

export async function getStaffEvent(db: Database, eventId: string | undefined) {
  if (!isUuid(eventId)) return undefined
  return db
    .selectFrom('events')
    .select(['id', 'slug', 'title', 'status', 'starts_at', 'ends_at', 'time_zone', 'capacity', 'places_taken', 'mode', 'venue_name'])
    .where('id', '=', eventId)
    .executeTakeFirst()
}

export type StaffRegistration = {
  id: string
  name: string
  email: string
  quantity: number
  ticketName: string
  accessNeeds: string | null
  status: RegistrationStatus
  createdAt: Date
  checkedInAt: Date | null
  offerExpiresAt: Date | null
  holdExpiresAt: Date | null
  cancelledAt: Date | null
}

/**
 * The registrations of one event, grouped as the door and the organiser think of them. The
 * waitlist is in the order places are offered (waitlisted_at, then id, as offerFreedPlaces does),
 * so position 1 is the next person to be offered a place.
 */
export async function getEventRegistrations(db: Database, eventId: string) {
  const rows = await db
    .selectFrom('registrations as r')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.name',
      'r.email',
      'r.quantity',
      't.name as ticket_name',
      'r.access_needs',
      'r.status',
      'r.created_at',
      'r.checked_in_at',
      'r.offer_expires_at',
      'r.hold_expires_at',
      'r.cancelled_at',
    ])
    .where('r.event_id', '=', eventId)
    .orderBy('r.created_at')
    .orderBy('r.id')
    .execute()
  const toRegistration = (row: (typeof rows)[number]): StaffRegistration => ({
    id: row.id,
    name: row.name,
    email: row.email,
    quantity: row.quantity,
    ticketName: row.ticket_name,
    accessNeeds: row.access_needs,
    status: row.status,
    createdAt: row.created_at,
    checkedInAt: row.checked_in_at,
    offerExpiresAt: row.offer_expires_at,
    holdExpiresAt: row.hold_expires_at,
    cancelledAt: row.cancelled_at,
  })
  // Sorted by the database, exactly as offerFreedPlaces picks the next person.
  const waitlistOrder = await db
    .selectFrom('registrations')
    .select('id')
    .where('event_id', '=', eventId)
    .where('status', '=', 'waitlisted')
    .orderBy('waitlisted_at')
    .orderBy('id')
    .execute()
  const byId = new Map(rows.map((row) => [row.id, row]))
  const waitlist = waitlistOrder.flatMap(({ id }, index) => {
    const row = byId.get(id)
    // A registration that joined the waitlist between the two reads waits for the next page load.
    return row ? [{ ...toRegistration(row), position: index + 1 }] : []
  })
  return {
    confirmed: rows
      .filter((row) => row.status === 'confirmed')
      .map(toRegistration)
      .sort((a, b) => a.name.localeCompare(b.name, 'en-GB', { sensitivity: 'base' })),
    waitlist,
    offered: rows.filter((row) => row.status === 'offered').map(toRegistration),
    held: rows.filter((row) => row.status === 'held').map(toRegistration),
    ended: rows.filter((row) => ['cancelled', 'expired', 'refunded'].includes(row.status)).map(toRegistration),
  }
}

/** Wildcards typed into the search box are searched for, not obeyed. */
function escapeLike(value: string) {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`)
}

export const SEARCH_LIMIT = 50

/**
 * Confirmed registrations whose name or email contains the query, case-insensitively; those that
 * start with it come first, since at a door people give the start of their name.
 */
export async function searchConfirmedRegistrations(db: Database, eventId: string, query: string) {
  const needle = query.trim().toLowerCase()
  if (needle === '') return []
  const contains = `%${escapeLike(needle)}%`
  const prefix = `${escapeLike(needle)}%`
  const rows = await db
    .selectFrom('registrations as r')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select(['r.id', 'r.name', 'r.email', 'r.quantity', 't.name as ticket_name', 'r.checked_in_at'])
    .where('r.event_id', '=', eventId)
    .where('r.status', '=', 'confirmed')
    .where((eb) => eb.or([eb(eb.fn('lower', ['r.name']), 'like', contains), eb(eb.fn('lower', ['r.email']), 'like', contains)]))
    .orderBy(sql`(lower(r.name) like ${prefix} or lower(r.email) like ${prefix})`, 'desc')
    .orderBy('r.name')
    .orderBy('r.id')
    .limit(SEARCH_LIMIT)
    .execute()
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    email: row.email,
    quantity: row.quantity,
    ticketName: row.ticket_name,
    checkedInAt: row.checked_in_at,
  }))
}

export type CheckInBy = { registrationId: string } | { token: string }

export type CheckInResult =
  | { kind: 'checked-in'; registrationId: string; name: string; quantity: number; checkedInAt: Date }
  | { kind: 'already-checked-in'; registrationId: string; name: string; checkedInAt: Date }
  | { kind: 'not-confirmed'; registrationId: string }
  | { kind: 'other-event'; registrationId: string }
  | { kind: 'not-found' }

/**
 * Checks a confirmed registration in with one conditional UPDATE, so two door staff scanning the
 * same code at once check it in once and the second is told when. Only when nothing was updated
 * is the registration read, to say why; the audit row commits with the check-in or not at all.
 */
export async function checkIn(db: Database, eventId: string, by: CheckInBy, staffUserId: string): Promise<CheckInResult> {
  const registrationId = 'registrationId' in by ? by.registrationId : null
  if (registrationId !== null && !isUuid(registrationId)) return { kind: 'not-found' }
  const token = 'token' in by ? rawCheckinToken(by.token) : ''
  if (registrationId === null && token === '') return { kind: 'not-found' }

  const checkedIn = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('registrations')
      .set({ checked_in_at: sql`now()`, updated_at: sql`now()` })
      .where('event_id', '=', eventId)
      .where(registrationId !== null ? 'id' : 'checkin_token', '=', registrationId ?? token)
      .where('status', '=', 'confirmed')
      .where('checked_in_at', 'is', null)
      .returning(['id', 'name', 'quantity', 'checked_in_at'])
      .executeTakeFirst()
    if (!row) return undefined
    await trx
      .insertInto('audit_log')
      .values({
        staff_user_id: staffUserId,
        action: 'registration.check_in',
        subject_type: 'registration',
        subject_id: row.id,
        details: JSON.stringify({ eventId, method: registrationId !== null ? 'search' : 'code' }),
      })
      .execute()
    return row
  })
  if (checkedIn) {
    return { kind: 'checked-in', registrationId: checkedIn.id, name: checkedIn.name, quantity: checkedIn.quantity, checkedInAt: checkedIn.checked_in_at! }
  }

  const found = await db
    .selectFrom('registrations')
    .select(['id', 'event_id', 'name', 'status', 'checked_in_at'])
    .where(registrationId !== null ? 'id' : 'checkin_token', '=', registrationId ?? token)
    .executeTakeFirst()
  if (!found) return { kind: 'not-found' }
  if (found.event_id !== eventId) return { kind: 'other-event', registrationId: found.id }
  if (found.status === 'confirmed' && found.checked_in_at) {
    return { kind: 'already-checked-in', registrationId: found.id, name: found.name, checkedInAt: found.checked_in_at }
  }
  return { kind: 'not-confirmed', registrationId: found.id }
}

/**
 * The registration token in what staff scanned or typed: a signed code from the QR, or the short
 * code printed beside it. A '.' marks a signed code, as raw tokens are base64url; one whose
 * signature fails is refused outright rather than looked up as a raw token.
 */
function rawCheckinToken(input: string) {
  const code = input.trim()
  if (!code.includes('.')) return code
  return verifyCheckinCode(code) ?? ''
}

/** The time of day in the event's zone, 24-hour, as a door volunteer reads it off a clock. */
export function formatClockTime(instant: Date, timeZone: string) {
  return dateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant)
}

export function checkInMessage(result: CheckInResult, timeZone: string): string {
  switch (result.kind) {
    case 'checked-in':
      return `Checked in: ${result.name}, ${result.quantity === 1 ? '1 place' : `${result.quantity} places`}`
    case 'already-checked-in':
      return `Already checked in at ${formatClockTime(result.checkedInAt, timeZone)}: ${result.name}`
    case 'not-confirmed':
    case 'other-event':
      return 'Not a confirmed registration for this event'
    case 'not-found':
      return 'No registration with that code'
  }
}
