import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData, type ShouldRevalidateFunction } from '@remix-run/react'
import { EventCard } from '#app/components/event-card.tsx'
import { listSavedEvents } from '#app/modules/events/saved-events.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'

export const meta: MetaFunction = () => [{ title: 'Saved events' }, { name: 'robots', content: 'noindex' }]

// What one browser saved is nobody else's business: never kept by a cache along the way.
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  return listSavedEvents(getDb(), await readSaverId(request), new Date())
}

/**
 * With JavaScript, an event unsaved here stays on the page (its button reading "Save this event")
 * so that focus is not lost and the person can change their mind; it is gone on the next visit.
 */
export const shouldRevalidate: ShouldRevalidateFunction = ({ formAction, defaultShouldRevalidate }) =>
  formAction === '/events/save' ? false : defaultShouldRevalidate

export default function SavedEventsPage() {
  const { upcoming, past } = useLoaderData<typeof loader>()
  const nothingSaved = upcoming.length === 0 && past.length === 0
  return (
    <div className="container page">
      <h1>Saved events</h1>
      <p className="lead">
        Events you save are kept for this browser only, through a cookie holding an anonymous number. We do not
        ask who you are.
      </p>
      {nothingSaved ? (
        <>
          <p>You have not saved any events yet. Use “Save this event” on any event to keep it here.</p>
          <p>
            <Link to="/events">See our events</Link>
          </p>
        </>
      ) : (
        <>
          <section aria-labelledby="saved-upcoming-title">
            <h2 id="saved-upcoming-title">Upcoming</h2>
            {upcoming.length > 0 ? (
              <div className="card-grid">
                {upcoming.map((event) => (
                  <EventCard key={event.id} event={event} saved />
                ))}
              </div>
            ) : (
              <p>
                None of your saved events is still to come. <Link to="/events">See what is coming up</Link>.
              </p>
            )}
          </section>
          {past.length > 0 ? (
            <section aria-labelledby="saved-past-title" className="section">
              <h2 id="saved-past-title">Past events</h2>
              <div className="card-grid card-grid--muted">
                {past.map((event) => (
                  <EventCard key={event.id} event={event} saved past />
                ))}
              </div>
            </section>
          ) : null}
        </>
      )}
    </div>
  )
}
