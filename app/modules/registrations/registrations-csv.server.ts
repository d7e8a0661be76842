import { sql } from 'kysely'
import type { Database } from '#app/utils/db.server.ts'
import { pagedCsvStream } from '#app/utils/csv.ts'

export const CSV_HEADER = ['Registered at', 'Name', 'Email', 'Status', 'Ticket', 'Quantity', 'Access needs', 'Checked in at', 'Waitlist position'] as const

/** Big enough that a large event is a handful of queries, small enough to hold nothing much. */
export const CSV_PAGE_SIZE = 500

/**
 * Where the last page ended. The time travels as PostgreSQL's own text, because a JS Date keeps
 * milliseconds and created_at has microseconds: a rounded cursor would repeat rows.
 */
type Cursor = { createdAt: string; id: string }

async function page(db: Database, eventId: string, after: Cursor | null, pageSize: number) {
  let query = db
    .selectFrom('registrations as r')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.created_at',
      sql<string>`r.created_at::text`.as('cursor_at'),
      'r.name',
      'r.email',
      'r.status',
      't.name as ticket_name',
      'r.quantity',
      'r.access_needs',
      'r.checked_in_at',
      // Only for the people waiting, and only for the rows of this page: the same count as waitlistPosition.
      sql<number | null>`case when r.status = 'waitlisted' then (
        select count(*) from registrations w
        where w.event_id = r.event_id and w.status = 'waitlisted' and (w.waitlisted_at, w.id) <= (r.waitlisted_at, r.id)
      ) end`.as('waitlist_position'),
    ])
    .where('r.event_id', '=', eventId)
    .orderBy('r.created_at')
    .orderBy('r.id')
    .limit(pageSize)
  if (after) query = query.where(sql<boolean>`(r.created_at, r.id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`)
  return query.execute()
}

/**
 * The registrations of one event as CSV, read in keyset pages as the client takes them, so a long
 * list is never all in memory and a slow download holds no transaction open. Each page is its own
 * read: a registration created during the download is included at the end, and none is repeated
 * or skipped, because (created_at, id) never changes.
 */
export function registrationsCsvStream(db: Database, eventId: string, options: { pageSize?: number } = {}): ReadableStream<Uint8Array> {
  const pageSize = options.pageSize ?? CSV_PAGE_SIZE
  return pagedCsvStream({
    header: CSV_HEADER,
    pageSize,
    nextPage: (last: Awaited<ReturnType<typeof page>>[number] | null) =>
      page(db, eventId, last ? { createdAt: last.cursor_at, id: last.id } : null, pageSize),
    toCells: (row) => [
      row.created_at.toISOString(),
      row.name,
      row.email,
      row.status,
      row.ticket_name,
      row.quantity,
      row.access_needs,
      row.checked_in_at ? row.checked_in_at.toISOString() : null,
      row.waitlist_position === null ? null : Number(row.waitlist_position),
    ],
  })
}
