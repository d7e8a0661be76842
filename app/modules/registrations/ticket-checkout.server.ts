import { createTicketCheckoutSession } from '#app/modules/payments/stripe.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import type { RegistrationOutcome } from './registration-request.ts'
import { type Hold, OFFER_KEPT_MESSAGE, releaseHold, returnHoldToOffer } from '#app/modules/registrations/holds.server.ts'

/**
 * Paid and pay-what-you-can tickets. The places are taken first (held), then paid for through
 * Stripe Checkout; the webhook confirms them. A hold ends with its Checkout Session, and a
 * payment that arrives after the places went back gets them again only if they still fit:
 * otherwise it is refunded. An event is never oversold, whatever order things happen in.
 */


/** Where Stripe Checkout returns a ticket buyer (app/routes/registrations.checkout.tsx). */
export const TICKET_CHECKOUT_RETURN_PATH = '/registrations/checkout'

const UNAVAILABLE_MESSAGE =
  'We could not reach our payment provider, so we have not kept your place. Nothing has been charged. Please try again in a moment.'

/**
 * Asks Stripe for the hold's Checkout Session. The idempotency key is the registration's, and a
 * double submit finds the same registration, so it gets Stripe's same session back.
 */
export async function startTicketCheckout(
  db: Database,
  hold: Hold,
  context: { origin: string; eventTitle: string; ticketName: string },
): Promise<RegistrationOutcome> {
  // The page Stripe sends the person back to carries only the session's id, never a signed link:
  // Stripe, the browser's history and anyone the address is shared with would hold the place
  // otherwise. That page shows the booking only to the browser holding the checkout cookie set
  // as the person left for Checkout (docs/decisions/021). Paths on the address the person used,
  // so the offline page stays on this server too.
  const returnPage = `${context.origin}${TICKET_CHECKOUT_RETURN_PATH}`
  try {
    const session = await createTicketCheckoutSession({
      registrationId: hold.registrationId,
      eventId: hold.eventId,
      amountMinor: hold.amountMinor,
      currency: hold.currency,
      productName: `${hold.quantity === 1 ? '' : `${hold.quantity} × `}${context.ticketName}: ${context.eventTitle}`,
      customerEmail: hold.email,
      successUrl: `${returnPage}?session_id={CHECKOUT_SESSION_ID}`,
      // Stripe's "back" link: this browser's return page gives the places back at once and ends
      // the session (ADR 023); with the checkout cookie it knows which booking (ADR 021).
      cancelUrl: `${returnPage}?checkout=cancelled`,
      expiresAt: hold.holdExpiresAt,
    })
    await db
      .updateTable('registrations')
      .set({ stripe_checkout_session_id: session.id, updated_at: new Date() })
      .where('id', '=', hold.registrationId)
      .where('stripe_checkout_session_id', 'is', null)
      .execute()
    return { kind: 'checkout', url: session.url, checkoutSessionId: session.id }
  } catch (error) {
    getLogger().error({ err: error, registrationId: hold.registrationId }, 'Could not create a Checkout Session for a registration')
    // Places nobody can pay for go back now, not in half an hour. A hold that already has a
    // session (a double submit that got through) stays: its buyer may be paying.
    const offerExpiresAt = hold.offerExpiresAt
    if (offerExpiresAt) {
      const offered = await db.transaction().execute((trx) => returnHoldToOffer(trx, hold.registrationId, offerExpiresAt))
      if (offered) return { kind: 'unavailable', message: OFFER_KEPT_MESSAGE }
    } else {
      await db.transaction().execute((trx) => releaseHold(trx, hold.registrationId, { onlyWithoutSession: true }))
    }
    return { kind: 'unavailable', message: UNAVAILABLE_MESSAGE }
  }
}

/**
 * The booking a ticket Checkout Session paid (or was to pay) for, for the page Stripe returns
 * to. Only the route decides who may see it: the browser whose checkout cookie names the session.
 */
export async function getTicketCheckoutBooking(db: Database, checkoutSessionId: string) {
  return db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.status',
      'r.name',
      'r.email',
      'r.quantity',
      'r.amount_minor',
      'r.currency',
      'r.hold_expires_at',
      'r.checkin_token',
      'r.refunded_minor',
      'e.id as event_id',
      'e.title as event_title',
      'e.slug as event_slug',
      'e.summary as event_summary',
      'e.organiser_name',
      'e.calendar_changed_at',
      'e.starts_at',
      'e.ends_at',
      'e.mode',
      'e.venue_name',
      'e.venue_address',
      'e.time_zone',
      't.name as ticket_name',
    ])
    .where('r.stripe_checkout_session_id', '=', checkoutSessionId)
    .executeTakeFirst()
}

/** The Checkout Session a registration's hold is being paid through, if it has one. */
export async function checkoutSessionOf(db: Database, registrationId: string): Promise<string | null> {
  const row = await db.selectFrom('registrations').select('stripe_checkout_session_id').where('id', '=', registrationId).executeTakeFirst()
  return row?.stripe_checkout_session_id ?? null
}
