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
  }
  saved: boolean
  past?: boolean
  headingLevel?: 'h2' | 'h3'
}

export function EventCard({ event, saved, past = false, headingLevel: Heading = 'h3' }: EventCardProps) {
  return (
    <article className="card card--event">
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
        <p className="card__figures">
          {event.mode === 'online' ? 'Online' : event.venue_name}
          {past ? null : (
            <>
              {' · '}
              {event.status === 'cancelled' ? 'Cancelled' : placesLeftLabel(event.capacity - event.places_taken)}
            </>
          )}
        </p>
        <SaveEventButton eventId={event.id} saved={saved} eventTitle={event.title} />
      </div>
    </article>
  )
}
