import { Link } from '@remix-run/react'
import { SaveEventButton } from '#app/components/save-event-button.tsx'
import { placesLeftLabel } from '#app/utils/places.ts'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'

type EventCardProps = {
  event: {
    id: string
    slug: string
    title: string
    summary: string
    starts_at: Date
    time_zone: string
    mode: 'in_person' | 'online'
    venue_name: string | null
    capacity: number
    places_taken: number
    status: string
    cover_photo_path: string | null
    cover_photo_alt: string | null
    /** "Free", "£45", "From £5" (events/ticket-prices.ts); null for an event without tickets. */
    priceLabel: string | null
  }
  saved: boolean
  past?: boolean
  headingLevel?: 'h2' | 'h3'
}

export function EventCard({ event, saved, past = false, headingLevel: Heading = 'h3' }: EventCardProps) {
  const cancelled = event.status === 'cancelled'
  return (
    <article className="card card--event">
      {event.cover_photo_path ? (
        <img className="card__image" src={event.cover_photo_path} alt={event.cover_photo_alt ?? ''} width={640} height={360} loading="lazy" />
      ) : null}
      <div className="card__body">
        <p className="card__eyebrow">
          <time dateTime={new Date(event.starts_at).toISOString()}>
            {formatEventDate(event.starts_at, event.time_zone)}, {formatEventTime(event.starts_at, event.time_zone)}
          </time>
        </p>
        <Heading className="card__title">
          <Link to={`/events/${event.slug}`}>{event.title}</Link>
        </Heading>
        <p>{event.summary}</p>
        {event.priceLabel && !cancelled ? <p className="card__price">{event.priceLabel}</p> : null}
        <p className="card__figures">
          {event.mode === 'online' ? 'Online' : event.venue_name}
          {past ? null : (
            <>
              {' · '}
              {cancelled ? 'Cancelled' : placesLeftLabel(event.capacity - event.places_taken)}
            </>
          )}
        </p>
        {/* A past or cancelled event can no longer be saved; one saved already can still be removed. */}
        <SaveEventButton eventId={event.id} saved={saved} eventTitle={event.title} canSave={!past && !cancelled} />
      </div>
    </article>
  )
}
