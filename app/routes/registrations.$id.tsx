import { redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
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
import { getRegistration, cancellationRefund, cancelRegistration } from '#app/modules/registrations/self-service.server.ts'
import { claimOffer } from '#app/modules/registrations/waitlist-claim.server.ts'
import { checkoutSessionOf } from '#app/modules/registrations/ticket-checkout.server.ts'
import { bookingCookieHeader } from '#app/utils/checkout-cookie.server.ts'

const actionSchema = z.object({ signature: z.string().min(10).max(200), intent: z.enum(['cancel', 'claim']) })

export const meta: MetaFunction = () => [{ title: 'Your place' }, { name: 'robots', content: 'noindex' }]
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
  const signature = new URL(request.url).searchParams.get('signature')
  const registration = await registrationFromLink(params.id, signature)
  // What cancelling now gives back, said before the person decides.
  const refund = cancellationRefund(registration)
  const when = `${formatEventDate(registration.starts_at, registration.time_zone)}, ${formatEventTime(registration.starts_at, registration.time_zone)}`
  return {
    signature: signature!,
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
      offerExpiresAt: registration.offer_expires_at ? formatEventTime(registration.offer_expires_at, registration.time_zone) : null,
      holdExpiresAt: registration.hold_expires_at ? formatEventTime(registration.hold_expires_at, registration.time_zone) : null,
      past: registration.starts_at <= new Date(),
      paid: registration.status === 'offered' && registration.claimPriceMinor > 0,
      cancellation: refund.paid
        ? { refund: refund.refundMinor > 0 ? formatMoney(refund.refundMinor, registration.currency) : null, daysBefore: refund.daysBefore }
        : null,
    },
  }
}

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const parsed = actionSchema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) throw new Response('Bad request', { status: 400 })
  const registration = await registrationFromLink(params.id, parsed.data.signature)
  if (parsed.data.intent === 'cancel') return { done: await cancelRegistration(getDb(), registration.id), message: null }
  // A paid place is paid for through Checkout, like a new registration; a free one is confirmed here.
  const claimed = await claimOffer(getDb(), registration.id, { origin: appOrigin() })
  if (claimed.outcome === 'checkout') {
    // As for a new booking: only this browser sees the booking when Stripe sends it back.
    const sessionId = await checkoutSessionOf(getDb(), registration.id)
    return redirect(claimed.url, { status: 303, headers: sessionId ? { 'Set-Cookie': await bookingCookieHeader(sessionId) } : undefined })
  }
  return { done: claimed.outcome, message: claimed.outcome === 'unavailable' ? claimed.message : null }
}

const MESSAGES: Record<string, string> = {
  cancelled: 'Your registration is cancelled, and your place has gone to someone else. We have sent you a confirmation.',
  'already-cancelled': 'This registration was already cancelled.',
  confirmed: 'The place is yours. Your confirmation, with a calendar file, is on its way by email.',
  expired: 'Sorry: this offer had lapsed, and the place has passed to the next person waiting.',
  'not-offered': 'There is no place waiting to be claimed on this registration.',
}

export default function ManageRegistration() {
  const { registration, signature } = useLoaderData<typeof loader>()
  const answer = useActionData<typeof action>()
  // A refused attempt changed nothing: the page stays as it was, with the refusal above it.
  const rateLimited = answer && 'rateLimited' in answer ? answer.rateLimited : null
  const actionData = answer && 'done' in answer ? answer : undefined
  const status = registration.status
  return (
    <div className="container page prose">
      <h1>{registration.eventTitle}</h1>
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
      {actionData ? (
        <p className="lead" role="status">
          {actionData.message ?? MESSAGES[actionData.done]}
        </p>
      ) : status === 'confirmed' ? (
        <>
          <p className="lead" role="status">
            You are registered, {registration.name}: {registration.quantity === 1 ? '1 place' : `${registration.quantity} places`} ({registration.ticketName}).
          </p>
          {registration.onlineUrl ? (
            <p>
              Joining link: <a href={registration.onlineUrl}>{registration.onlineUrl}</a>
            </p>
          ) : null}
          {registration.checkinCode ? <p>Your check-in code: <strong>{registration.checkinCode}</strong></p> : null}
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
      ) : (
        <p className="lead" role="status">
          This registration is {status === 'expired' ? 'no longer active: the offer or hold lapsed' : 'cancelled'}.
        </p>
      )}
      {!actionData && !registration.past && ['confirmed', 'waitlisted', 'offered', 'held'].includes(status) ? (
        <section aria-labelledby="cancel-title" className="section">
          <h2 id="cancel-title">Can no longer come?</h2>
          <p>Cancelling gives your place to the next person waiting.</p>
          {registration.cancellation ? (
            <p>
              {registration.cancellation.refund
                ? `We will refund ${registration.cancellation.refund} to the card you paid with.`
                : `The event is less than ${registration.cancellation.daysBefore} days away, so the ticket is not refunded.`}
            </p>
          ) : null}
          <Form method="post">
            <input type="hidden" name="signature" value={signature} />
            <button type="submit" name="intent" value="cancel" className="button button--secondary">
              Cancel my registration
            </button>
          </Form>
        </section>
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
