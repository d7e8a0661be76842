import type { Database } from '#app/utils/db.server.ts'

export type EventSummary = Awaited<ReturnType<typeof listPublicEvents>>[number]

function publicEvents(db: Database) {
  return db
    .selectFrom('events')
    .select([
      'id',
      'slug',
      'title',
      'summary',
      'starts_at',
      'ends_at',
      'time_zone',
      'mode',
      'venue_name',
      'capacity',
      'places_taken',
      'status',
    ])
    .where('status', 'in', ['published', 'cancelled'])
}

/** Published events: upcoming soonest first, past ones most recent first. */
export async function listPublicEvents(db: Database, now = new Date()) {
  return publicEvents(db).where('ends_at', '>=', now).orderBy('starts_at', 'asc').execute()
}

export async function listPastEvents(db: Database, now = new Date(), limit = 20) {
  return publicEvents(db)
    .where('ends_at', '<', now)
    .where('status', '=', 'published')
    .orderBy('starts_at', 'desc')
    .limit(limit)
    .execute()
}

