import type { MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { EventCard } from '#app/components/event-card.tsx'
import { listPastEvents, listPublicEvents } from '#app/modules/events/events.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction = () => [
  { title: 'Events' },
  { name: 'description', content: 'Talks, briefings and gatherings, in person and online.' },
]

export async function loader() {
  const db = getDb()
  const now = new Date()
  const [upcoming, past] = await Promise.all([listPublicEvents(db, now), listPastEvents(db, now)])
  return { upcoming, past }
}

export default function EventsPage() {
  const { upcoming, past } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Events</h1>
      <section aria-labelledby="upcoming-title">
        <h2 id="upcoming-title">Upcoming</h2>
        {upcoming.length > 0 ? (
          <div className="card-grid">
            {upcoming.map((event) => (
              <EventCard key={event.id} event={event} />
            ))}
          </div>
        ) : (
          <p>No events are planned just now.</p>
        )}
      </section>
      {past.length > 0 ? (
        <section aria-labelledby="past-title" className="section">
          <h2 id="past-title">Past events</h2>
          <div className="card-grid card-grid--muted">
            {past.map((event) => (
              <EventCard key={event.id} event={event} past />
            ))}
          </div>
        </section>
      ) : null}
    </div>
  )
}
