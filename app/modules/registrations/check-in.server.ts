import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { escapeLike, type Database } from '#app/utils/db.server.ts'
import { verifyCheckinCode } from '#app/utils/signed-links.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { dateTimeFormat } from '#app/utils/intl-cache.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'


export function newCheckinToken() {
  return randomBytes(12).toString('base64url')
}
export const SEARCH_LIMIT = 50

/**
 * Confirmed registrations whose name or email contains the query, case-insensitively; those that
 * start with it come first, since at a door people give the start of their name.
 */
export async function searchConfirmedRegistrations(db: Database, eventId: string, query: string) {
  const needle = query.trim().toLowerCase()
  if (needle === '') return []
  // Wildcards typed into the search box are searched for, not obeyed.
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
    await recordAudit(trx, { staffUserId, action: 'registration.check_in', subjectType: 'registration', subjectId: row.id, details: { eventId, method: registrationId !== null ? 'search' : 'code' } })
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
