import { sql } from 'kysely'
import type { RegistrationStatus } from '#db/schema.ts'
import type { Database } from '#app/utils/db.server.ts'

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
 * waitlist is in the order places are offered (confirmed entries by when they confirmed, then id,
 * as offerFreedPlaces does), so position 1 is the next person to be offered a place; entries not
 * yet confirmed from their email come last, in the order they joined (ADR 023).
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
    .orderBy(sql`waitlist_confirmed_at asc nulls last`)
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
