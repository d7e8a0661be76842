import { redirect, type ActionFunctionArgs, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'
import { BookingDetails } from '#app/components/booking-details.tsx'
import { bookingView } from '#app/modules/registrations/booking-view.server.ts'
import formStyles from '#app/styles/forms.css'
import eventStyles from '#app/styles/event.css'
import { giveBackHold } from '#app/modules/registrations/holds.server.ts'
import { getTicketCheckoutBooking } from '#app/modules/registrations/ticket-checkout.server.ts'
import { claimOffer } from '#app/modules/registrations/waitlist-claim.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { readBookingSessionId } from '#app/utils/checkout-cookie.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { formatEventTime } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { checkRateLimit, rateLimitedReply } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'

/**
 * `/registrations/checkout`: where Stripe Checkout sends a ticket buyer back, paid
 * (`?session_id=cs_…`) or by its back link (`?checkout=cancelled`: the places go back at once and
 * the session is ended, ADR 023). The address carries no permission: the booking's
 * details show only in the browser whose checkout cookie names that session, set as it left for
 * Checkout. Anyone else with the address (a shared screen, the browser's history, a log) is told
 * to look in their email, where the signed link to the place is (docs/decisions/021).
 */
export const meta: MetaFunction = () => [{ title: 'Your booking' }, { name: 'robots', content: 'noindex' }]
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: eventStyles },
]
// `same-origin`, not `no-referrer`: the session id stays on this site, and the page's "Go back to
// payment" form is posted with a real Origin (with `no-referrer` it would be `null`, refused).
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'same-origin' })

/** The booking this browser started, when the address (if it names a session) names the same one. */
async function ownBooking(request: Request) {
  const mine = await readBookingSessionId(request)
  const given = new URL(request.url).searchParams.get('session_id')
  if (!mine || (given !== null && given !== mine)) return undefined
  return getTicketCheckoutBooking(getDb(), mine)
}

export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url)
  let booking = await ownBooking(request)
  const returnedPaid = url.searchParams.has('session_id')
  // Stripe's back link: this browser left the payment page without paying, so the places it held
  // go back now rather than in half an hour, and the session is ended (ADR 023). Doing it twice
  // does nothing; a claimed waitlist offer stays this person's to go back and pay for.
  let leftPayment = false
  if (booking && url.searchParams.get('checkout') === 'cancelled' && booking.status === 'held') {
    leftPayment = await giveBackHold(getDb(), booking.id)
    if (leftPayment) booking = await ownBooking(request)
  }
  if (!booking) return { booking: null, returnedPaid, leftPayment }
  return {
    returnedPaid,
    leftPayment,
    // The QR code and calendar links once confirmed; the joining link stays in the email.
    view: await bookingView(booking),
    booking: {
      status: booking.status,
      name: booking.name,
      email: booking.email,
      places: `${booking.quantity === 1 ? '1 place' : `${booking.quantity} places`} (${booking.ticket_name})`,
      total: formatMoney(booking.amount_minor, booking.currency),
      checkinCode: booking.status === 'confirmed' && booking.mode === 'in_person' ? booking.checkin_token : null,
      eventTitle: booking.event_title,
      eventSlug: booking.event_slug,
      holdExpiresAt: booking.hold_expires_at && booking.hold_expires_at > new Date() ? formatEventTime(booking.hold_expires_at, booking.time_zone) : null,
    },
  }
}

/** "Go back to payment" from a held booking: the same Checkout Session again, for this browser only. */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const booking = await ownBooking(request)
  if (!booking) return { message: NOT_THIS_BROWSER }
  const claimed = await claimOffer(getDb(), booking.id, { origin: appOrigin() })
  if (claimed.outcome === 'checkout') return redirect(claimed.url, 303)
  return { message: claimed.outcome === 'unavailable' ? claimed.message : 'These places are no longer held. Please register again on the event page.' }
}

const NOT_THIS_BROWSER =
  'If you have just booked, your confirmation is on its way by email, with the link to see or cancel your registration. This page shows a booking only in the browser it was made in.'

export default function TicketCheckoutReturn() {
  const loaded = useLoaderData<typeof loader>()
  const { booking, returnedPaid, leftPayment } = loaded
  const actionData = useActionData<typeof action>()
  const message = actionData && 'message' in actionData ? actionData.message : null
  if (!booking) {
    return (
      <div className="container page prose">
        <h1>Check your email</h1>
        <p className="lead" role="status">
          {NOT_THIS_BROWSER}
        </p>
        <p>
          <Link to="/events">See all our events</Link>
        </p>
      </div>
    )
  }
  return (
    <div className="container page prose">
      <h1>{booking.status === 'confirmed' ? 'You’re booked' : 'Your booking'}</h1>
      <RateLimitNotice actionData={actionData} />
      {message ? (
        <p className="notice" role="alert">
          {message}
        </p>
      ) : null}
      <p className="lead" role="status">
        {booking.status === 'confirmed'
          ? `${booking.name}, your confirmation is on its way to ${booking.email}, with a calendar file and the link to your registration.`
          : booking.status === 'held' && returnedPaid
            ? `Thank you, ${booking.name}: we are confirming your payment. Your confirmation will be sent to ${booking.email} as soon as it reaches us.`
            : booking.status === 'held' && booking.holdExpiresAt
              ? `You left the payment page. We are holding your places until ${booking.holdExpiresAt}; after that they go to someone else.`
              : leftPayment
                ? 'You left the payment page, so nothing was charged and the places you held are free again for others. You can register again on the event page.'
                : 'This booking is no longer held, and nothing was charged. You can register again on the event page.'}
      </p>
      {booking.status === 'confirmed' && 'view' in loaded ? (
        <>
          <p className="booking__event">{booking.eventTitle}</p>
          <BookingDetails booking={loaded.view} places={booking.places} onlineUrl={null} checkinCode={booking.checkinCode} />
        </>
      ) : (
        <dl>
          <dt>Event</dt>
          <dd>{booking.eventTitle}</dd>
          <dt>Booking</dt>
          <dd>
            {booking.places}, {booking.total}
          </dd>
        </dl>
      )}
      {booking.status === 'held' && !returnedPaid && booking.holdExpiresAt ? (
        <Form method="post">
          <button type="submit" className="button">
            Go back to payment
          </button>
        </Form>
      ) : null}
      <p>
        <Link to={`/events/${booking.eventSlug}`}>About this event</Link>
      </p>
    </div>
  )
}
