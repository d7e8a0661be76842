import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { AppealCard } from '#app/components/appeal-card.tsx'
import { EventCard } from '#app/components/event-card.tsx'
import { listPublicAppeals } from '#app/modules/appeals/appeals.server.ts'
import { listPublicEvents } from '#app/modules/events/events.server.ts'
import { savedEventIds } from '#app/modules/events/saved-events.server.ts'
import { getOrganisation, listTestimonials } from '#app/modules/organisation/organisation.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.organisation ? `${data.organisation.name}: appeals and events` : 'Sanad' },
  // An empty description is worse than none: search engines would show it as it is.
  ...(data?.organisation?.mission ? [{ name: 'description', content: data.organisation.mission }] : []),
]

// The request is optional so that tests (and scripts) can ask as a browser that saved nothing.
export async function loader({ request }: Partial<Pick<LoaderFunctionArgs, 'request'>> = {}) {
  const db = getDb()
  const saverId = request ? await readSaverId(request) : null
  const [organisation, testimonials, appeals, events, saved] = await Promise.all([
    getOrganisation(db),
    listTestimonials(db),
    listPublicAppeals(db, { featuredOnly: true, limit: 3 }),
    listPublicEvents(db),
    savedEventIds(db, saverId),
  ])
  return { organisation, testimonials, appeals, events: events.slice(0, 3), savedEventIds: [...saved] }
}

export default function HomePage() {
  const { organisation, testimonials, appeals, events, savedEventIds: savedIds } = useLoaderData<typeof loader>()
  const saved = new Set(savedIds)
  return (
    <>
      <section className="hero" aria-labelledby="hero-title">
        <div className="container">
          <h1 id="hero-title">{organisation?.tagline ?? 'Sanad'}</h1>
          {organisation ? (
            <>
              <p className="hero__lead">{organisation.vision}</p>
              <p>{organisation.mission}</p>
            </>
          ) : null}
          <p className="hero__actions">
            <Link className="button" to="/appeals">
              Support an appeal
            </Link>
            <Link className="button button--secondary" to="/events">
              Come to an event
            </Link>
          </p>
        </div>
      </section>

      {organisation && organisation.focus_areas.length > 0 ? (
        <section className="container section" aria-labelledby="focus-title">
          <h2 id="focus-title">What we campaign on</h2>
          <ul className="focus-list">
            {organisation.focus_areas.map((area) => (
              <li key={area}>{area}</li>
            ))}
          </ul>
        </section>
      ) : null}

      <section className="container section" aria-labelledby="appeals-title">
        <h2 id="appeals-title">Current appeals</h2>
        {appeals.length > 0 ? (
          <div className="card-grid">
            {appeals.map((appeal) => (
              <AppealCard key={appeal.id} appeal={appeal} />
            ))}
          </div>
        ) : (
          <p>There are no open appeals at the moment.</p>
        )}
        <p>
          <Link to="/appeals">All appeals</Link>
        </p>
      </section>

      <section className="container section" aria-labelledby="events-title">
        <h2 id="events-title">Upcoming events</h2>
        {events.length > 0 ? (
          <div className="card-grid">
            {events.map((event) => (
              <EventCard key={event.id} event={event} saved={saved.has(event.id)} />
            ))}
          </div>
        ) : (
          <p>No events are planned just now.</p>
        )}
        <p>
          <Link to="/events">All events</Link>
        </p>
      </section>

      {testimonials.length > 0 ? (
        <section className="section section--tinted" aria-labelledby="testimonials-title">
          <div className="container">
            <h2 id="testimonials-title">In their words</h2>
            <div className="testimonials">
              {testimonials.map((testimonial) => (
                <figure key={testimonial.id} className="testimonial">
                  <blockquote>
                    <p>{testimonial.quote}</p>
                  </blockquote>
                  <figcaption>
                    <cite>{testimonial.author}</cite>
                    {testimonial.author_context ? `, ${testimonial.author_context}` : null}
                  </figcaption>
                </figure>
              ))}
            </div>
          </div>
        </section>
      ) : null}
    </>
  )
}
