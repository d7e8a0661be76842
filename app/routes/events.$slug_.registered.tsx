import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { isRouteErrorResponse, Link, useLoaderData, useRouteError } from '@remix-run/react'
import { getEventPage } from '#app/modules/events/event-page.server.ts'
import { getDb } from '#app/utils/db.server.ts'

/**
 * `/events/:slug/registered`: where every registration for a free place lands, whether the
 * address was new, already had a place, or was put on the waitlist. It says the same to everyone,
 * so the form cannot be used to learn who is registered (docs/decisions/021); the email to the
 * address says what happened and carries the link to the place.
 */
export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Check your email: ${data.eventTitle}` : 'Check your email' },
  { name: 'robots', content: 'noindex' },
]

export async function loader({ params }: LoaderFunctionArgs) {
  const page = await getEventPage(getDb(), params.slug ?? '')
  if (!page) throw new Response('Not found', { status: 404 })
  return { eventTitle: page.event.title, eventSlug: page.event.slug }
}

export default function Registered() {
  const { eventTitle, eventSlug } = useLoaderData<typeof loader>()
  return (
    <div className="container page prose">
      <h1>Check your email</h1>
      <p className="lead" role="status">
        Thank you. We have sent an email about {eventTitle} to the address you gave. It says whether you have a place or are
        on the waiting list, and has the link to see or cancel your registration.
      </p>
      <p>
        If nothing arrives in a few minutes, look in your spam or junk folder, and check that the address you typed was
        right. If you registered this address before, the email gives you the link to that registration instead.
      </p>
      <p>
        <Link to={`/events/${eventSlug}`}>Back to the event</Link>
      </p>
    </div>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  return (
    <div className="container page prose">
      <h1>{notFound ? 'We could not find that event' : 'Something went wrong'}</h1>
      <p>If you registered, check your email: we write to you as soon as your registration is made.</p>
      <p>
        <Link to="/events">See all our events</Link>
      </p>
    </div>
  )
}
