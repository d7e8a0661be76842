import { createTicketCheckoutSession } from '#app/modules/payments/stripe.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import type { RegistrationOutcome } from './registration-request.ts'
import { type Hold, OFFER_KEPT_MESSAGE, releaseHold, returnHoldToOffer } from '#app/modules/registrations/holds.server.ts'

/**
 * Paid and pay-what-you-can tickets. The places are taken first (held), then paid for through
 * Stripe Checkout; the webhook confirms them. A hold ends with its Checkout Session, and a
 * payment that arrives after the places went back gets them again only if they still fit:
 * otherwise it is refunded. An event is never oversold, whatever order things happen in.
 */


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
  // The manage page on the address the person used, so the offline page stays on this server too.
  const manage = new URL(manageRegistrationUrl(hold.registrationId))
  const manageUrl = `${context.origin}${manage.pathname}${manage.search}`
  try {
    const session = await createTicketCheckoutSession({
      registrationId: hold.registrationId,
      eventId: hold.eventId,
      amountMinor: hold.amountMinor,
      currency: hold.currency,
      productName: `${hold.quantity === 1 ? '' : `${hold.quantity} × `}${context.ticketName}: ${context.eventTitle}`,
      customerEmail: hold.email,
      successUrl: manageUrl,
      // Stripe's "back" link: the manage page gives the places back at once and ends the session (ADR 023).
      cancelUrl: `${manageUrl}&checkout=cancelled`,
      expiresAt: hold.holdExpiresAt,
    })
    await db
      .updateTable('registrations')
      .set({ stripe_checkout_session_id: session.id, updated_at: new Date() })
      .where('id', '=', hold.registrationId)
      .where('stripe_checkout_session_id', 'is', null)
      .execute()
    return { kind: 'checkout', url: session.url }
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
