import { redirect, type ActionFunctionArgs, type HeadersFunction, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, isRouteErrorResponse, Link, useActionData, useLoaderData, useRouteError } from '@remix-run/react'
import { z } from 'zod'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { checkRateLimit, rateLimitedReply } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { LINK_PURPOSE, registrationLinkExpiresAt, verifySignature } from '#app/utils/signed-links.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { placesLeftLabel } from '#app/utils/places.ts'
import { giveBackHold } from '#app/modules/registrations/holds.server.ts'
import { getRegistration, cancellationRefund, cancelBooking, previewCancellation } from '#app/modules/registrations/self-service.server.ts'
import { claimOffer } from '#app/modules/registrations/waitlist-claim.server.ts'
import { checkoutSessionOf } from '#app/modules/registrations/ticket-checkout.server.ts'
import { bookingCookieHeader } from '#app/utils/checkout-cookie.server.ts'
import { confirmWaitlistPlace } from '#app/modules/registrations/waitlist.server.ts'
import { waitlistConfirmDeadline } from '#app/modules/registrations/waitlist-deadline.server.ts'
import { bookingView } from '#app/modules/registrations/booking-view.server.ts'
import { BookingDetails } from '#app/components/booking-details.tsx'
import formStyles from '#app/styles/forms.css'
import eventStyles from '#app/styles/event.css'

const actionSchema = z.object({
  signature: z.string().min(10).max(200),
  intent: z.enum(['cancel', 'claim', 'confirm-waitlist']),
  /** The second signature only the waitlist email carries (confirmWaitlistUrl). */
  confirm: z.string().min(10).max(200).optional(),
})

export const meta: MetaFunction = () => [{ title: 'Your booking' }, { name: 'robots', content: 'noindex' }]
export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: eventStyles },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

/** The signed link in each registration email is the permission to see and change this place. */
async function registrationFromLink(id: string | undefined, signature: string | null | undefined) {
  if (!id || !signature || !verifySignature(LINK_PURPOSE.registration, id, signature)) throw new Response('This link is not valid', { status: 404 })
  const registration = await getRegistration(getDb(), id)
  if (!registration) throw new Response('Not found', { status: 404 })
  if (registrationLinkExpiresAt(registration.ends_at) <= new Date()) throw new Response(EXPIRED_MESSAGE, { status: 410 })
  return registration
}

const EXPIRED_MESSAGE = 'This link has expired: the links in our registration emails stop working a few weeks after the event.'

export async function loader({ request, params }: LoaderFunctionArgs) {
  const url = new URL(request.url)
  const signature = url.searchParams.get('signature')
  let registration = await registrationFromLink(params.id, signature)
  // Stripe's "back" link (the session's cancel URL): the person left the payment page without
  // paying, so the places they held go back now rather than in half an hour, and the session is
  // ended (ADR 023). Only this person's browser comes here from Stripe, with the signed link;
  // doing it twice does nothing. A claimed waitlist offer stays theirs to go back and pay for.
  let leftPayment = false
  if (url.searchParams.get('checkout') === 'cancelled' && registration.status === 'held') {
    leftPayment = await giveBackHold(getDb(), registration.id)
    if (leftPayment) registration = await registrationFromLink(params.id, signature)
  }
  const confirmSignature = url.searchParams.get('confirm')
  const canConfirmWaitlist =
    registration.status === 'waitlisted' &&
    !registration.waitlist_confirmed_at &&
    confirmSignature !== null &&
    verifySignature(LINK_PURPOSE.waitlistConfirm, registration.id, confirmSignature)
  // The confirmation step: what cancelling would do, said before the person decides.
  const preview = url.searchParams.get('step') === 'cancel' ? await previewCancellation(getDb(), registration.id) : null
  // What cancelling now gives back, said before the person decides.
  const refund = cancellationRefund(registration)
  const when = `${formatEventDate(registration.starts_at, registration.time_zone)}, ${formatEventTime(registration.starts_at, registration.time_zone)}`
  const past = registration.starts_at <= new Date()
  const placesLeft = Math.max(0, registration.capacity - registration.places_taken)
  return {
    signature: signature!,
    confirmSignature: canConfirmWaitlist ? confirmSignature : null,
    leftPayment,
    // The heading, what was paid, the QR code (in a room) and the calendar links (booking-view).
    booking: await bookingView(registration),
    registration: {
      status: registration.status,
      name: registration.name,
      quantity: registration.quantity,
      ticketName: registration.ticket_name,
      eventTitle: registration.event_title,
      eventSlug: registration.event_slug,
      when,
      where: registration.mode === 'online' ? 'Online' : [registration.venue_name, registration.venue_address].filter(Boolean).join(', '),
      // Registered people see the joining link; nobody else ever receives it.
      onlineUrl: registration.status === 'confirmed' ? registration.online_url : null,
      checkinCode: registration.status === 'confirmed' ? registration.checkin_token : null,
      position: registration.position,
      waitlistConfirmed: registration.waitlist_confirmed_at !== null,
      lapsedUnconfirmed: registration.status === 'expired' && registration.waitlisted_at !== null && registration.waitlist_confirmed_at === null && registration.offer_expires_at === null,
      waitlistConfirmBy:
        registration.status === 'waitlisted' && !registration.waitlist_confirmed_at && registration.waitlisted_at
          ? `${formatEventDate(waitlistConfirmDeadline(registration.waitlisted_at), registration.time_zone)}, ${formatEventTime(waitlistConfirmDeadline(registration.waitlisted_at), registration.time_zone)}`
          : null,
      offerExpiresAt: registration.offer_expires_at ? formatEventTime(registration.offer_expires_at, registration.time_zone) : null,
      holdExpiresAt: registration.hold_expires_at ? formatEventTime(registration.hold_expires_at, registration.time_zone) : null,
      past,
      paid: registration.status === 'offered' && registration.claimPriceMinor > 0,
      cancellation: refund.paid
        ? { refund: refund.refundMinor > 0 ? formatMoney(refund.refundMinor, registration.currency) : null, daysBefore: refund.daysBefore }
        : null,
      // Someone who cancelled, or whose hold or offer lapsed, may book again while the event takes registrations.
      registerAgain:
        !past && registration.event_status === 'published' && !LIVE.includes(registration.status)
          ? { placesLeft, label: placesLeftLabel(placesLeft) }
          : null,
    },
    confirmCancel: preview
      ? {
          status: preview.status,
          afterwards: preview.afterwards,
          paid: preview.paid,
          refund: preview.refundMinor > 0 ? formatMoney(preview.refundMinor, preview.currency) : null,
          daysBefore: preview.daysBefore,
        }
      : null,
  }
}

const LIVE: string[] = ['confirmed', 'waitlisted', 'offered', 'held']

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const parsed = actionSchema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) throw new Response('Bad request', { status: 400 })
  const registration = await registrationFromLink(params.id, parsed.data.signature)
  if (parsed.data.intent === 'cancel') {
    const result = await cancelBooking(getDb(), registration.id)
    if (result.outcome === 'already-cancelled') return { done: result.outcome, message: null, cancellation: null }
    return {
      done: result.outcome,
      message: null,
      cancellation: {
        afterwards: result.afterwards,
        paid: result.paid,
        refund: result.refundMinor > 0 ? formatMoney(result.refundMinor, result.currency) : null,
        daysBefore: result.daysBefore,
        previousStatus: registration.status,
      },
    }
  }
  if (parsed.data.intent === 'confirm-waitlist') {
    const { confirm } = parsed.data
    if (!confirm || !verifySignature(LINK_PURPOSE.waitlistConfirm, registration.id, confirm)) {
      throw new Response('Please use the confirmation link in your email', { status: 400 })
    }
    const confirmed = await confirmWaitlistPlace(getDb(), registration.id)
    return { done: `waitlist-${confirmed.outcome}`, message: null, cancellation: null }
  }
  // A paid place is paid for through Checkout, like a new registration; a free one is confirmed here.
  const claimed = await claimOffer(getDb(), registration.id, { origin: appOrigin() })
  if (claimed.outcome === 'checkout') {
    // As for a new booking: only this browser sees the booking when Stripe sends it back.
    const sessionId = await checkoutSessionOf(getDb(), registration.id)
    return redirect(claimed.url, { status: 303, headers: sessionId ? { 'Set-Cookie': await bookingCookieHeader(sessionId) } : undefined })
  }
  return { done: claimed.outcome, message: claimed.outcome === 'unavailable' ? claimed.message : null, cancellation: null }
}

const MESSAGES: Record<string, string> = {
  'already-cancelled': 'This registration was already cancelled.',
  confirmed: 'The place is yours. Your confirmation, with a calendar file, is on its way by email.',
  expired: 'Sorry: this offer had lapsed, and the place has passed to the next person waiting.',
  'not-offered': 'There is no place waiting to be claimed on this registration.',
  'waitlist-confirmed': 'Thank you: your email address is confirmed, and you are in the queue for a place.',
  'waitlist-already-confirmed': 'Your email address was already confirmed.',
  'waitlist-lapsed': 'Sorry: this request to join the waitlist lapsed before it was confirmed. You are welcome to join again.',
  'waitlist-not-waiting': 'This registration is no longer on the waitlist.',
}

type Cancellation = { afterwards: 'offered' | 'freed' | 'no-place'; paid: boolean; refund: string | null; daysBefore: number }

/** What happened, or what will: the same sentences before (the confirmation step) and after. */
function placeSentence(afterwards: Cancellation['afterwards'], quantity: number, done: boolean) {
  const place = quantity === 1 ? 'Your place' : `Your ${quantity} places`
  if (afterwards === 'offered') return `${place} ${done ? 'has been' : 'will be'} offered to the next person on the waitlist.`
  if (afterwards === 'freed') return `${place} ${done ? 'is' : 'will be'} free again for anyone to book. Nobody was waiting for ${quantity === 1 ? 'it' : 'them'}.`
  return done ? 'You have left the waitlist.' : 'You will leave the waitlist.'
}

function moneySentence(cancellation: Cancellation, status: string, done: boolean) {
  if (status === 'held') return done ? 'Nothing has been charged, and the payment page is closed.' : 'You have not paid, and nothing will be charged: the payment page will be closed.'
  if (!cancellation.paid) return status === 'confirmed' ? 'Your place was free, so there is nothing to refund.' : 'You have not paid anything, so there is nothing to refund.'
  if (cancellation.refund) {
    return done
      ? `We are refunding ${cancellation.refund} to the card you paid with. It usually arrives within 5 to 10 working days.`
      : `We will refund ${cancellation.refund} to the card you paid with.`
  }
  return `The event is less than ${cancellation.daysBefore} days away, so the ticket ${done ? 'is not' : 'will not be'} refunded.`
}

export default function ManageRegistration() {
  const { registration, booking, signature, confirmSignature, confirmCancel, leftPayment } = useLoaderData<typeof loader>()
  const answer = useActionData<typeof action>()
  // A refused attempt changed nothing: the page stays as it was, with the refusal above it.
  const rateLimited = answer && 'rateLimited' in answer ? answer.rateLimited : null
  const actionData = answer && 'done' in answer ? answer : undefined
  const status = registration.status
  const manageHref = `?signature=${encodeURIComponent(signature)}`
  // Confirming a waitlist place shows the page's new state below its thank-you.
  const replacesPage = actionData && !actionData.done.startsWith('waitlist-')
  return (
    <div className="container page prose booking">
      {/* Where the person stands first ("You're booked"), then which event; else the event's title. */}
      {booking.heading && !replacesPage && !confirmCancel ? (
        <>
          <h1>{booking.heading}</h1>
          <p className="booking__event">{registration.eventTitle}</p>
        </>
      ) : (
        <h1>{registration.eventTitle}</h1>
      )}
      <p>
        {registration.when}
        <br />
        {registration.where}
      </p>
      {rateLimited ? (
        <p className="notice" role="alert">
          {rateLimited}
        </p>
      ) : null}
      {leftPayment ? (
        <p className="lead" role="status">
          You left the payment page without paying, so we have given {registration.quantity === 1 ? 'the place' : 'the places'} back.
          Nothing has been charged.
        </p>
      ) : null}
      {actionData?.done === 'cancelled' && actionData.cancellation ? (
        <div role="status">
          <p className="lead">Your registration is cancelled.</p>
          <p>{placeSentence(actionData.cancellation.afterwards, registration.quantity, true)}</p>
          <p>{moneySentence(actionData.cancellation, actionData.cancellation.previousStatus, true)}</p>
          <p>We have sent you a confirmation by email.</p>
        </div>
      ) : actionData ? (
        <p className={replacesPage ? 'lead' : 'notice'} role="status">
          {actionData.message ?? MESSAGES[actionData.done]}
        </p>
      ) : null}
      {replacesPage ? null : confirmCancel && LIVE.includes(status) ? (
        <section aria-labelledby="confirm-cancel-title" className="section">
          <h2 id="confirm-cancel-title">Cancel your registration?</h2>
          <p>If you cancel:</p>
          <ul>
            <li>{placeSentence(confirmCancel.afterwards, registration.quantity, false)}</li>
            <li>{moneySentence(confirmCancel, confirmCancel.status, false)}</li>
            <li>We will email you to confirm. You can register again afterwards while places remain, but we cannot keep this place for you.</li>
          </ul>
          <Form method="post">
            <input type="hidden" name="signature" value={signature} />
            <button type="submit" name="intent" value="cancel" className="button button--secondary">
              Yes, cancel my registration
            </button>
          </Form>
          <p>
            <Link to={manageHref}>No, keep my {status === 'waitlisted' ? 'place on the waitlist' : registration.quantity === 1 ? 'place' : 'places'}</Link>
          </p>
        </section>
      ) : status === 'confirmed' ? (
        <>
          <p className="lead" role="status">
            You are registered, {registration.name}: {registration.quantity === 1 ? '1 place' : `${registration.quantity} places`} ({registration.ticketName}).
          </p>
          <BookingDetails
            booking={booking}
            places={registration.quantity === 1 ? `1 place (${registration.ticketName})` : `${registration.quantity} places (${registration.ticketName})`}
            onlineUrl={registration.onlineUrl}
            checkinCode={registration.checkinCode}
          />
        </>
      ) : status === 'waitlisted' && !registration.waitlistConfirmed ? (
        <>
          <p className="lead" role="status">
            The event is full. To join the waitlist, confirm your email address with the link we have sent you
            {registration.waitlistConfirmBy ? `, by ${registration.waitlistConfirmBy}` : ''}. Until then you are not in the queue.
          </p>
          {confirmSignature ? (
            <Form method="post">
              <input type="hidden" name="signature" value={signature} />
              <input type="hidden" name="confirm" value={confirmSignature} />
              <button type="submit" name="intent" value="confirm-waitlist" className="button">
                Confirm my place on the waitlist
              </button>
            </Form>
          ) : null}
        </>
      ) : status === 'waitlisted' ? (
        <p className="lead" role="status">
          The event is full, so you are on the waitlist{registration.position ? `, number ${registration.position}` : ''}. If a place frees up
          we will email you, first come first served.
        </p>
      ) : status === 'offered' ? (
        <>
          <p className="lead" role="status">
            A place has opened up for you. Claim it before {registration.offerExpiresAt}, or it passes to the next person.
            {registration.paid ? ' Claiming it takes you to payment; the place stays yours while you pay.' : null}
          </p>
          <Form method="post">
            <input type="hidden" name="signature" value={signature} />
            <button type="submit" name="intent" value="claim" className="button">
              {registration.paid ? 'Claim and pay for my place' : 'Claim my place'}
            </button>
          </Form>
        </>
      ) : status === 'held' ? (
        <>
          <p className="lead" role="status">
            We are holding {registration.quantity === 1 ? 'your place' : 'your places'} until {registration.holdExpiresAt} while you pay. Once
            the payment reaches us, your confirmation is on its way by email.
          </p>
          {registration.past ? null : (
            <Form method="post">
              <input type="hidden" name="signature" value={signature} />
              <button type="submit" name="intent" value="claim" className="button">
                Go back to payment
              </button>
            </Form>
          )}
        </>
      ) : status === 'refunded' ? (
        <p className="lead" role="status">
          Your payment reached us after your place had been released, and we could not give it back to you, so we are refunding it in full.
        </p>
      ) : leftPayment || actionData ? null : (
        <p className="lead" role="status">
          This registration is{' '}
          {status !== 'expired'
            ? 'cancelled'
            : registration.lapsedUnconfirmed
              ? 'no longer active: the request to join the waitlist was not confirmed in time'
              : 'no longer active: the offer or hold lapsed'}
          .
        </p>
      )}
      {!actionData && !confirmCancel && !registration.past && LIVE.includes(status) ? (
        <section aria-labelledby="cancel-title" className="section">
          <h2 id="cancel-title">Can no longer come?</h2>
          {registration.cancellation ? (
            <p>
              {registration.cancellation.refund
                ? `If you cancel, we will refund ${registration.cancellation.refund} to the card you paid with.`
                : `The event is less than ${registration.cancellation.daysBefore} days away, so the ticket is not refunded.`}
            </p>
          ) : null}
          {/* A plain GET: the next page says what cancelling will do, and asks again. */}
          <Form method="get">
            <input type="hidden" name="signature" value={signature} />
            <input type="hidden" name="step" value="cancel" />
            <button type="submit" className="button button--secondary">
              {status === 'waitlisted' ? 'Leave the waitlist…' : 'Cancel my registration…'}
            </button>
          </Form>
        </section>
      ) : null}
      {registration.registerAgain ? (
        <p>
          {registration.registerAgain.placesLeft > 0 ? (
            <>
              <Link to={`/events/${registration.eventSlug}#register`}>Register again</Link> ({registration.registerAgain.label.toLowerCase()})
            </>
          ) : (
            <>
              The event is now full: <Link to={`/events/${registration.eventSlug}#register`}>join the waitlist</Link>
            </>
          )}
        </p>
      ) : null}
      <p>
        <Link to={`/events/${registration.eventSlug}`}>About this event</Link>
      </p>
    </div>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const expired = isRouteErrorResponse(error) && error.status === 410
  return (
    <div className="container page prose">
      <h1>{expired ? 'This link has expired' : 'We could not find that registration'}</h1>
      <p>
        {expired ? `${EXPIRED_MESSAGE} ` : 'Please use the link in your email. '}
        <Link to="/events">See all events</Link>
      </p>
    </div>
  )
}
