import { sql } from 'kysely'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { EVENT_CARD_COLUMNS, withPriceLabels } from '#app/modules/events/events.server.ts'

/** Statuses the public can see; saving follows what the public can see. */
const PUBLIC_STATUSES = ['published', 'cancelled'] as const

/**
 * The saver a cookie's id stands for, inside a query: a saver joined into another (a second
 * device) reads that one. Merging keeps the chain one step long, so one look-up is enough.
 */
export function canonicalSaver(saverId: string) {
  return sql<string>`(select coalesce(merged_into_id, id) from savers where id = ${saverId})`
}

/** The saver a cookie's id stands for, or undefined when we no longer have it. */
export async function resolveSaver(db: Database | DatabaseTransaction, saverId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('savers')
    .select((eb) => eb.fn.coalesce('merged_into_id', 'id').as('id'))
    .where('id', '=', saverId)
    .executeTakeFirst()
  return row?.id
}

/**
 * The saver behind a browser's cookie, or a new one when the cookie is missing or names a saver
 * we no longer have. Returns the id the cookie should carry from now on.
 */
export async function getOrCreateSaver(db: Database, saverId: string | null): Promise<string> {
  if (saverId) {
    const existing = await resolveSaver(db, saverId)
    if (existing) return existing
  }
  const created = await db.insertInto('savers').defaultValues().returning('id').executeTakeFirstOrThrow()
  return created.id
}

/** Whether people may save (or unsave) the event: it exists and the public can see it. */
export async function isSaveableEvent(db: Database, eventId: string): Promise<boolean> {
  const row = await db
    .selectFrom('events')
    .select('id')
    .where('id', '=', eventId)
    .where('status', 'in', PUBLIC_STATUSES)
    .executeTakeFirst()
  return row !== undefined
}

/** Idempotent: saving an event already saved changes nothing. */
export async function saveEvent(db: Database, saverId: string, eventId: string): Promise<void> {
  await db
    .insertInto('saved_events')
    .values({ saver_id: saverId, event_id: eventId })
    .onConflict((conflict) => conflict.columns(['saver_id', 'event_id']).doNothing())
    .execute()
}

/** Idempotent: unsaving an event that was never saved is fine. */
export async function unsaveEvent(db: Database, saverId: string, eventId: string): Promise<void> {
  await db.deleteFrom('saved_events').where('saver_id', '=', canonicalSaver(saverId)).where('event_id', '=', eventId).execute()
}

/** The events this browser saved, in one query; a browser without a saver has saved nothing. */
export async function savedEventIds(db: Database, saverId: string | null): Promise<Set<string>> {
  if (!saverId) return new Set()
  const rows = await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', canonicalSaver(saverId)).execute()
  return new Set(rows.map((row) => row.event_id))
}

/**
 * The saved events the public can still see: upcoming soonest first, then past ones most recent
 * first. An event that went back to draft drops out, and comes back if it is published again.
 */
export async function listSavedEvents(db: Database, saverId: string | null, now = new Date()) {
  if (!saverId) return { upcoming: [], past: [] }
  const rows = await db
    .selectFrom('saved_events')
    .innerJoin('events', 'events.id', 'saved_events.event_id')
    .select(EVENT_CARD_COLUMNS)
    .where('saved_events.saver_id', '=', canonicalSaver(saverId))
    .where('events.status', 'in', PUBLIC_STATUSES)
    .orderBy('events.starts_at', 'asc')
    .execute()
    .then((events) => withPriceLabels(db, events))
  const upcoming = rows.filter((event) => event.ends_at >= now)
  const past = rows.filter((event) => event.ends_at < now).reverse()
  return { upcoming, past }
}

/**
 * How many events this browser has saved that the public can still see (what /saved lists), for
 * the count beside "Saved" in the navigation; 0 without a saver, and no query then.
 */
export async function countSavedEvents(db: Database, saverId: string | null): Promise<number> {
  if (!saverId) return 0
  const row = await db
    .selectFrom('saved_events')
    .innerJoin('events', 'events.id', 'saved_events.event_id')
    .select((eb) => eb.fn.countAll<number>().as('saved'))
    .where('saved_events.saver_id', '=', canonicalSaver(saverId))
    .where('events.status', 'in', PUBLIC_STATUSES)
    .executeTakeFirst()
  return Number(row?.saved ?? 0)
}

/**
 * How many browsers saved each event, for staff. Events nobody saved are absent (read them as 0).
 * Pass event ids to count only those.
 */
export async function saveCountsByEvent(db: Database, eventIds?: readonly string[]): Promise<Map<string, number>> {
  if (eventIds && eventIds.length === 0) return new Map()
  let query = db
    .selectFrom('saved_events')
    .select(['event_id', (eb) => eb.fn.countAll<number>().as('saves')])
    .groupBy('event_id')
  if (eventIds) query = query.where('event_id', 'in', eventIds)
  const rows = await query.execute()
  return new Map(rows.map((row) => [row.event_id, Number(row.saves)]))
}
