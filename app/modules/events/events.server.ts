import type { Database } from '#app/utils/db.server.ts'
import { eventPriceLabel, type TicketPrice } from '#app/modules/events/ticket-prices.ts'

export type EventSummary = Awaited<ReturnType<typeof listPublicEvents>>[number]

/** The columns an event card shows, for every list of cards (events, home, saved). */
export const EVENT_CARD_COLUMNS = [
  'events.id',
  'events.slug',
  'events.title',
  'events.summary',
  'events.starts_at',
  'events.ends_at',
  'events.time_zone',
  'events.mode',
  'events.venue_name',
  'events.capacity',
  'events.places_taken',
  'events.status',
  'events.cover_photo_path',
  'events.cover_photo_alt',
] as const

function publicEvents(db: Database) {
  return db.selectFrom('events').select(EVENT_CARD_COLUMNS).where('status', 'in', ['published', 'cancelled'])
}

/**
 * The events with each one's price line for its card ("Free", "From £5"), in one query for all
 * of them; null for an event without tickets.
 */
export async function withPriceLabels<E extends { id: string }>(db: Database, events: E[]): Promise<(E & { priceLabel: string | null })[]> {
  if (events.length === 0) return []
  const tickets = await db
    .selectFrom('ticket_types')
    .select(['event_id', 'name', 'kind', 'price_minor', 'min_price_minor', 'currency'])
    .where(
      'event_id',
      'in',
      events.map((event) => event.id),
    )
    .orderBy('position')
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  const byEvent = new Map<string, TicketPrice[]>()
  for (const ticket of tickets) {
    const list = byEvent.get(ticket.event_id) ?? []
    // char(3) may come back padded from some drivers.
    list.push({ name: ticket.name, kind: ticket.kind, priceMinor: ticket.price_minor, minPriceMinor: ticket.min_price_minor, currency: ticket.currency.trim().toUpperCase() })
    byEvent.set(ticket.event_id, list)
  }
  return events.map((event) => ({ ...event, priceLabel: eventPriceLabel(byEvent.get(event.id) ?? []) }))
}

/** Published events: upcoming soonest first, past ones most recent first. */
export async function listPublicEvents(db: Database, now = new Date()) {
  return withPriceLabels(db, await publicEvents(db).where('ends_at', '>=', now).orderBy('starts_at', 'asc').execute())
}

export async function listPastEvents(db: Database, now = new Date(), limit = 20) {
  const events = await publicEvents(db)
    .where('ends_at', '<', now)
    .where('status', '=', 'published')
    .orderBy('starts_at', 'desc')
    .limit(limit)
    .execute()
  return withPriceLabels(db, events)
}
