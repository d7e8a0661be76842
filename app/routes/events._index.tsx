import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { EventCard } from '#app/components/event-card.tsx'
import { listPastEvents, listPublicEvents } from '#app/modules/events/events.server.ts'
import { savedEventIds } from '#app/modules/events/saved-events.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'

export const meta: MetaFunction = () => [
  { title: 'Events' },
  { name: 'description', content: 'Talks, briefings and gatherings, in person and online.' },
]

// The request is optional so that tests (and scripts) can ask as a browser that saved nothing.
export async function loader({ request }: Partial<Pick<LoaderFunctionArgs, 'request'>> = {}) {
  const db = getDb()
  const now = new Date()
  const saverId = request ? await readSaverId(request) : null
  const [upcoming, past, saved] = await Promise.all([
    listPublicEvents(db, now),
    listPastEvents(db, now),
    savedEventIds(db, saverId),
  ])
  return { upcoming, past, savedEventIds: [...saved] }
}

export default function EventsPage() {
  const { upcoming, past, savedEventIds: savedIds } = useLoaderData<typeof loader>()
  const saved = new Set(savedIds)
  return (
    <div className="container page">
      <h1>Events</h1>
      <section aria-labelledby="upcoming-title">
        <h2 id="upcoming-title">Upcoming</h2>
        {upcoming.length > 0 ? (
          <div className="card-grid">
            {upcoming.map((event) => (
              <EventCard key={event.id} event={event} saved={saved.has(event.id)} />
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
              <EventCard key={event.id} event={event} saved={saved.has(event.id)} past />
            ))}
          </div>
        </section>
      ) : null}
    </div>
  )
}
