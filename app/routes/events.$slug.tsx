import {
  data,
  redirect,
  type ActionFunctionArgs,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { isRouteErrorResponse, Link, useActionData, useLoaderData, useRouteError } from '@remix-run/react'
import { RegistrationForm } from '#app/forms/registration/registration-form.tsx'
import { SaveEventButton } from '#app/components/save-event-button.tsx'
import { CalendarLinks } from '#app/components/calendar-links.tsx'
import { getEventPage, publicCalendarEntry, timeZoneNote, type EventPage } from '#app/modules/events/event-page.server.ts'
import { googleCalendarUrl, outlookCalendarUrl } from '#app/modules/events/ics.ts'
import { savedEventIds } from '#app/modules/events/saved-events.server.ts'
import { parseRegistrationForm, toRegistrationRequest } from '#app/forms/registration/parse.server.ts'
import formStyles from '#app/styles/forms.css'
import styles from '#app/styles/event.css'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { rateLimitHeaders, rateLimitMessage } from '#app/utils/rate-limit.server.ts'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { absoluteUrl, appOrigin } from '#app/utils/absolute-url.server.ts'
import { placesLeftLabel } from '#app/utils/places.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'
import { bookingCookieHeader } from '#app/utils/checkout-cookie.server.ts'
import { registerForEvent } from '#app/modules/registrations/register.server.ts'

function registrationFormOptions(page: Pick<EventPage, 'event' | 'ticketTypes'>) {
  return { ticketTypes: page.ticketTypes, maxPerOrder: page.event.maxPerOrder }
}

const CANCELLED_MESSAGE = 'This event has been cancelled'
const PAST_MESSAGE = 'This event has already taken place'
const STARTED_MESSAGE = 'Registration has closed: this event has already started'
const NOT_FOUND_MESSAGE = 'This event is no longer taking registrations'
// Says nothing a robot could learn from, and is still true for a person whose browser filled it.
const HONEYPOT_MESSAGE = 'We could not register you. Please check the form and try again.'

const CLOSED_MESSAGES = { 'not-found': NOT_FOUND_MESSAGE, past: STARTED_MESSAGE, cancelled: CANCELLED_MESSAGE } as const
// registerForEvent names the request's field; the form calls the amount box chosenPrice.
const FORM_FIELDS = { ticketTypeId: 'ticketTypeId', quantity: 'quantity', chosenPriceMinor: 'chosenPrice' } as const

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: styles },
]

export const meta: MetaFunction<typeof loader> = ({ data }) => {
  if (!data) return [{ title: 'Event not found' }]
  const { event } = data
  const title = data.isCancelled ? `Cancelled: ${event.title}` : event.title
  const tags = [
    { title },
    { name: 'description', content: event.summary },
    { property: 'og:title', content: title },
    { property: 'og:description', content: event.summary },
    { property: 'og:type', content: 'website' },
    { property: 'og:url', content: data.pageUrl },
    { name: 'twitter:card', content: data.imageUrl ? 'summary_large_image' : 'summary' },
    { name: 'twitter:title', content: title },
    { name: 'twitter:description', content: event.summary },
  ]
  if (data.imageUrl) {
    tags.push({ property: 'og:image', content: data.imageUrl }, { name: 'twitter:image', content: data.imageUrl })
    if (event.coverAlt) tags.push({ property: 'og:image:alt', content: event.coverAlt }, { name: 'twitter:image:alt', content: event.coverAlt })
  }
  return tags
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const db = getDb()
  const now = new Date()
  const page = await getEventPage(db, params.slug ?? '', now, { origin: appOrigin() })
  if (!page) throw new Response('Not found', { status: 404 })
  const { event } = page

  const pageUrl = absoluteUrl(`/events/${event.slug}`)
  const saved = (await savedEventIds(db, await readSaverId(request))).has(event.id)
  const calendarEntry = publicCalendarEntry(page, pageUrl)
  const offerCalendar = !page.isCancelled && !page.isPast

  return {
    ...page,
    pageUrl,
    // Share cards need absolute addresses: APP_URL's, never the request's (as the appeal page's).
    imageUrl: event.coverPath ? absoluteUrl(event.coverPath) : null,
    when: describeWhen(event.startsAt, event.endsAt, event.timeZone),
    timeZoneNote: timeZoneNote(event.timeZone),
    placesLabel: placesLeftLabel(event.placesLeft),
    full: event.placesLeft <= 0,
    saved,
    // Plain links the person may choose to follow; nothing is fetched from Google or Microsoft.
    calendar: offerCalendar
      ? {
          icsUrl: `/events/${event.slug}/calendar.ics`,
          googleUrl: googleCalendarUrl(calendarEntry),
          outlookUrl: outlookCalendarUrl(calendarEntry),
        }
      : null,
    // One id per page view: a double submit or a retry is recognised as the same registration.
    submissionId: crypto.randomUUID(),
  }
}

/** Says what to do: pay for (or give back) the places already held, or wait until they lapse. */
function tooManyHoldsMessage(outcome: { reason: 'email' | 'client'; limit: number; retryAfterSeconds: number }) {
  const minutes = Math.max(1, Math.ceil(outcome.retryAfterSeconds / 60))
  const wait = minutes === 1 ? 'a minute' : `${minutes} minutes`
  return outcome.reason === 'email'
    ? `Places for this email address are already being held while they are paid for. Finish that payment, or leave the payment page by its back link to give the places back, then register again (or try again in ${wait}, when the hold ends).`
    : `Your connection already has ${outcome.limit === 1 ? 'a booking' : `${outcome.limit} bookings`} for this event waiting to be paid for, the most we hold at once. Finish or cancel one of those payments, or try again in ${wait}. If you are booking for a group, please contact the organiser.`
}

export async function action({ request, params }: ActionFunctionArgs) {
  const db = getDb()
  const page = await getEventPage(db, params.slug ?? '')
  if (!page) throw new Response('Not found', { status: 404 })

  const formData = await readFormData(request)
  const submission = parseRegistrationForm(formData, registrationFormOptions(page))
  const honeypot = formData.get('website')
  if (honeypot !== null && honeypot !== '') {
    return data(submission.reply({ formErrors: [HONEYPOT_MESSAGE], hideFields: ['website'] }), { status: 400 })
  }
  if (submission.status !== 'success') return data(submission.reply(), { status: 400 })
  if (page.isCancelled) return data(submission.reply({ formErrors: [CANCELLED_MESSAGE] }), { status: 400 })
  if (page.isPast) return data(submission.reply({ formErrors: [PAST_MESSAGE] }), { status: 400 })
  if (!page.registrationOpen) return data(submission.reply({ formErrors: [STARTED_MESSAGE] }), { status: 400 })

  const outcome = await registerForEvent(db, toRegistrationRequest(submission.value, page.event.id), {
    origin: appOrigin(),
    clientIp: clientIpFromRequest(request),
  })
  switch (outcome.kind) {
    // One answer whether the address was new or already had a place, and whichever place it got:
    // the page says "check your email", and the email carries the link (docs/decisions/021).
    case 'confirmed':
    case 'waitlisted':
    case 'already-registered':
      return redirect(`/events/${page.event.slug}/registered`, 303)
    case 'checkout':
      // Only this browser may see the booking when Stripe sends it back (registrations.checkout.tsx).
      return redirect(outcome.url, { status: 303, headers: { 'Set-Cookie': await bookingCookieHeader(outcome.checkoutSessionId) } })
    case 'rate-limited':
      return data(submission.reply({ formErrors: [rateLimitMessage(outcome.retryAfterSeconds)] }), {
        status: 429,
        headers: rateLimitHeaders(outcome.retryAfterSeconds),
      })
    case 'too-many-holds':
      return data(submission.reply({ formErrors: [tooManyHoldsMessage(outcome)] }), {
        status: 429,
        headers: rateLimitHeaders(outcome.retryAfterSeconds),
      })
    case 'closed':
      return data(submission.reply({ formErrors: [CLOSED_MESSAGES[outcome.reason]] }), { status: 400 })
    case 'invalid':
      return data(submission.reply({ fieldErrors: { [FORM_FIELDS[outcome.field]]: [outcome.message] } }), {
        status: 400,
      })
    case 'unavailable':
      return data(submission.reply({ formErrors: [outcome.message] }), { status: 503 })
  }
}

export default function EventRoute() {
  const page = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  const { event } = page
  const online = event.mode === 'online'

  return (
    <article className="container page event" aria-labelledby="event-title">
      {event.coverPath ? (
        <img className="event__cover" src={event.coverPath} alt={event.coverAlt ?? ''} width={1280} height={720} />
      ) : null}
      <header className="event__header">
        {page.isCancelled ? <p className="event__tag event__tag--cancelled">Cancelled</p> : null}
        {page.isPast && !page.isCancelled ? <p className="event__tag">Past event</p> : null}
        <h1 id="event-title">{event.title}</h1>
        <p className="lead">{event.summary}</p>
        <div className="event__actions">
          {page.registrationOpen && page.ticketTypes.length > 0 ? (
            // An in-page link: it works without JavaScript, and the form's heading says where it lands.
            <a className="button event__register-link" href="#register">
              {page.full ? 'Join the waitlist' : 'Register'}
            </a>
          ) : null}
          {/* A past or cancelled event is not offered for saving; one already saved can be removed. */}
          <SaveEventButton eventId={event.id} saved={page.saved} eventTitle={event.title} canSave={!page.isPast && !page.isCancelled} />
        </div>
      </header>

      {lastResult?.status === 'error' && page.registrationOpen ? (
        // Without JavaScript the page reloads at the top, far from the form and its errors.
        <p className="event__banner event__banner--error">
          <a href="#registration-error-summary-title">There is a problem with your registration: see the form below</a>
        </p>
      ) : null}
      {page.isCancelled ? (
        <p className="event__banner event__banner--cancelled">
          <strong>{CANCELLED_MESSAGE}.</strong> We are sorry. <Link to="/events">See our other events</Link>
        </p>
      ) : page.isPast ? (
        <p className="event__banner">
          <strong>{PAST_MESSAGE}.</strong> <Link to="/events">See our upcoming events</Link>
        </p>
      ) : null}

      <section className="event__facts" aria-labelledby="event-facts-title">
        <h2 id="event-facts-title" className="visually-hidden">
          When and where
        </h2>
        <dl className="event__details">
          <div className="event__detail">
            <dt>When</dt>
            <dd>
              <time dateTime={new Date(event.startsAt).toISOString()}>{page.when}</time>
              <span className="event__note">{page.timeZoneNote}.</span>
            </dd>
          </div>
          <div className="event__detail">
            <dt>Where</dt>
            {online ? (
              <dd>
                Online
                <span className="event__note">The joining link is sent by email to registered people only.</span>
              </dd>
            ) : (
              <dd>
                {event.venueName ? <span className="event__venue">{event.venueName}</span> : null}
                {event.venueAddress ? <span className="event__address">{event.venueAddress}</span> : null}
                {event.mapUrl ? (
                  // A plain link, like the share links: nothing is loaded from OpenStreetMap unless it is followed.
                  <a className="event__map-link" href={event.mapUrl} rel="noopener noreferrer">
                    Find it on a map <span className="field__hint-inline">(opens OpenStreetMap)</span>
                  </a>
                ) : null}
              </dd>
            )}
          </div>
          {event.accessNotes ? (
            <div className="event__detail">
              <dt>Access</dt>
              <dd>{event.accessNotes}</dd>
            </div>
          ) : null}
          {!page.isPast && !page.isCancelled ? (
            <div className="event__detail">
              <dt>Places</dt>
              <dd className={page.full ? 'event__places event__places--full' : 'event__places'}>{page.placesLabel}</dd>
            </div>
          ) : null}
          {page.ticketTypes.length > 0 ? (
            <div className="event__detail">
              <dt>{page.ticketTypes.length === 1 ? 'Ticket' : 'Tickets'}</dt>
              <dd>
                <ul className="event__tickets">
                  {page.ticketTypes.map((ticket) => (
                    <li key={ticket.id}>{ticket.line}</li>
                  ))}
                </ul>
              </dd>
            </div>
          ) : null}
          <div className="event__detail">
            <dt>Organiser</dt>
            <dd>{event.organiserName}</dd>
          </div>
        </dl>

        {page.calendar ? <CalendarLinks calendar={page.calendar} headingId="add-to-calendar-title" /> : null}
      </section>

      <section className="event__section" aria-labelledby="about-title">
        <h2 id="about-title">About this event</h2>
        {/* Sanitised by markdown.server.ts: raw HTML escaped, unsafe links dropped, no outside images. */}
        <div className="prose event__description" dangerouslySetInnerHTML={{ __html: event.descriptionHtml }} />
      </section>

      {page.registrationOpen ? (
        <section className="event__section event__register" id="register" aria-labelledby="register-title">
          <h2 id="register-title">{page.full ? 'Join the waitlist' : 'Register'}</h2>
          {page.ticketTypes.length > 0 ? (
            <>
              {page.full ? (
                <p>
                  This event is full. Join the waitlist and we will email you if a place becomes free.
                </p>
              ) : null}
              <RegistrationForm
                ticketTypes={page.ticketTypes}
                maxPerOrder={event.maxPerOrder}
                full={page.full}
                submissionId={page.submissionId}
                lastResult={lastResult}
              />
            </>
          ) : (
            <p>Registration is not open yet. Please check back soon.</p>
          )}
        </section>
      ) : !page.isCancelled && !page.isPast ? (
        <section className="event__section" aria-labelledby="register-title">
          <h2 id="register-title">Registration</h2>
          <p>{STARTED_MESSAGE}.</p>
        </section>
      ) : null}
    </article>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  return (
    <div className="container page">
      <h1>{notFound ? 'We could not find that event' : 'Something went wrong'}</h1>
      <p>
        {notFound
          ? 'The event may have been taken down, or the link may be mistyped.'
          : 'Sorry: the event could not be shown. Please try again in a moment. If you were registering, check your email: we write to you as soon as your place is held.'}
      </p>
      <p>
        <Link to="/events">See all our events</Link>
      </p>
    </div>
  )
}

/** "Tuesday, 15 December 2026, 18:30 GMT to 21:00 GMT", with the end's date when it differs. */
function describeWhen(startsAt: Date, endsAt: Date, timeZone: string) {
  const startDate = formatEventDate(startsAt, timeZone)
  const endDate = formatEventDate(endsAt, timeZone)
  const start = `${startDate}, ${formatEventTime(startsAt, timeZone)}`
  const end = endDate === startDate ? formatEventTime(endsAt, timeZone) : `${endDate}, ${formatEventTime(endsAt, timeZone)}`
  return `${start} to ${end}`
}
