import { sql } from 'kysely'
import type { EventStatus } from '#db/schema.ts'
import { saveCountsByEvent } from '#app/modules/events/saved-events.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { isUuid } from '#app/utils/ids.ts'

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
  // A malformed id would make PostgreSQL raise on the uuid cast; it simply matches nothing.
  if (!isUuid(eventId)) return undefined
  return db
    .selectFrom('events')
    .select(['id', 'slug', 'title', 'status', 'starts_at', 'ends_at', 'time_zone', 'capacity', 'places_taken', 'mode', 'venue_name'])
    .where('id', '=', eventId)
    .executeTakeFirst()
}

