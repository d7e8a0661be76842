import { calendarSequence, type CalendarEvent } from '#app/modules/events/ics.ts'
import type { Database } from '#app/utils/db.server.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'
import { ticketLine, ticketPriceLabel } from '#app/modules/events/ticket-prices.ts'

export type EventPage = NonNullable<Awaited<ReturnType<typeof getEventPage>>>

/**
 * Everything the public page of one event shows. Drafts are not public and come back as null; a
 * cancelled event stays readable so links shared earlier still lead somewhere.
 *
 * The event's `online_url` is never selected here: the joining link goes only to registered
 * people, in their emails, and must not reach a page anyone can load.
 */
export async function getEventPage(db: Database, slug: string, now = new Date(), options: { origin?: string } = {}) {
  const event = await db
    .selectFrom('events')
    .select([
      'id',
      'slug',
      'title',
      'summary',
      'description_markdown',
      'starts_at',
      'ends_at',
      'time_zone',
      'mode',
      'venue_name',
      'venue_address',
      'access_notes',
      'organiser_name',
      'capacity',
      'places_taken',
      'max_per_order',
      'status',
      'calendar_changed_at',
      'cover_photo_path',
      'cover_photo_alt',
    ])
    .where('slug', '=', slug)
    .where('status', 'in', ['published', 'cancelled'])
    .executeTakeFirst()
  if (!event) return null

  const ticketTypes = await db
    .selectFrom('ticket_types')
    .select(['id', 'name', 'kind', 'price_minor', 'min_price_minor', 'currency'])
    .where('event_id', '=', event.id)
    .orderBy('position')
    .orderBy('created_at')
    .orderBy('id')
    .execute()

  const cancelled = event.status === 'cancelled'
  const started = event.starts_at.getTime() <= now.getTime()
  const past = event.ends_at.getTime() < now.getTime()

  return {
    event: {
      id: event.id,
      slug: event.slug,
      title: event.title,
      summary: event.summary,
      descriptionHtml: renderMarkdown(event.description_markdown, { origin: options.origin }),
      startsAt: event.starts_at,
      endsAt: event.ends_at,
      timeZone: event.time_zone,
      mode: event.mode,
      venueName: event.mode === 'in_person' ? event.venue_name : null,
      venueAddress: event.mode === 'in_person' ? event.venue_address : null,
      accessNotes: event.access_notes,
      /** A plain link to OpenStreetMap's search for the address, followed only if the person chooses. */
      mapUrl: event.mode === 'in_person' ? mapSearchUrl(event.venue_address) : null,
      coverPath: event.cover_photo_path,
      coverAlt: event.cover_photo_alt,
      organiserName: event.organiser_name,
      capacity: event.capacity,
      placesLeft: Math.max(0, event.capacity - event.places_taken),
      maxPerOrder: event.max_per_order,
      /** The public calendar file's SEQUENCE: it grows when the time, place or joining details change. */
      calendarSequence: event.calendar_changed_at ? calendarSequence(event.calendar_changed_at) : 0,
    },
    ticketTypes: ticketTypes.map((row) => {
      const ticket = {
        id: row.id,
        name: row.name,
        kind: row.kind,
        priceMinor: row.price_minor,
        minPriceMinor: row.min_price_minor,
        // char(3) as stored; trimmed in case a driver pads it.
        currency: row.currency.trim().toUpperCase(),
      }
      // "Free place" rather than "Free place: free" (issue 13).
      return { ...ticket, priceLabel: ticketPriceLabel(ticket), line: ticketLine(ticket) }
    }),
    isCancelled: cancelled,
    isPast: past,
    /** Registration closes when the event starts (registerForEvent refuses from then on). */
    registrationOpen: !cancelled && !started,
  }
}

/**
 * OpenStreetMap's search for the venue's address, as a plain link: no map is embedded and nothing
 * is fetched from another site unless the person follows it. The address's lines become commas.
 */
export function mapSearchUrl(address: string | null): string | null {
  const query = (address ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join(', ')
  return query ? `https://www.openstreetmap.org/search?query=${encodeURIComponent(query)}` : null
}

/** "Europe/London" → "London", "America/New_York" → "New York"; null for zones with no city (UTC). */
export function timeZoneCity(timeZone: string): string | null {
  if (!timeZone.includes('/') || timeZone.startsWith('Etc/')) return null
  const city = timeZone.slice(timeZone.lastIndexOf('/') + 1).replace(/_/g, ' ')
  return city || null
}

/** "Times are in London time", or "Times are in UTC" for a zone that is not a place. */
export function timeZoneNote(timeZone: string): string {
  const city = timeZoneCity(timeZone)
  return city ? `Times are in ${city} time` : `Times are in ${timeZone.replace(/^Etc\//, '')}`
}

/** What a public calendar entry is made of: the event as the public sees it, never its joining link. */
export type PublicCalendarFields = {
  id: string
  title: string
  summary: string
  startsAt: Date
  endsAt: Date
  timeZone: string
  mode: 'in_person' | 'online'
  venueName: string | null
  venueAddress: string | null
  organiserName: string
  calendarSequence: number
}

/**
 * The event as a calendar entry, for the public .ics file and the Google and Outlook links (on
 * the event page and the booking page). The location is the venue, or "Online": never the
 * joining link, and nothing of the person's booking, since the links hand it to another site.
 */
export function publicCalendarEntry(page: { event: PublicCalendarFields }, pageUrl: string): CalendarEvent {
  const { event } = page
  const location =
    event.mode === 'online' ? 'Online' : [event.venueName, event.venueAddress].filter(Boolean).join(', ') || undefined
  return {
    uid: `event-${event.id}@sanad`,
    title: event.title,
    description: event.summary,
    startsAt: event.startsAt,
    endsAt: event.endsAt,
    timeZone: event.timeZone,
    location,
    url: pageUrl,
    organiserName: event.organiserName,
    sequence: event.calendarSequence,
  }
}
