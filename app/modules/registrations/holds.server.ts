import { expireCheckoutSession } from '#app/modules/payments/stripe.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { releasePlaces } from '#app/modules/registrations/places.server.ts'
import { offerFreedPlaces } from '#app/modules/registrations/waitlist.server.ts'

/**
 * Paid and pay-what-you-can tickets. The places are taken first (held), then paid for through
 * Stripe Checkout; the webhook confirms them. A hold ends with its Checkout Session, and a
 * payment that arrives after the places went back gets them again only if they still fit:
 * otherwise it is refunded. An event is never oversold, whatever order things happen in.
 */

type Trx = DatabaseTransaction

export const RELEASE_HOLD_TASK = 'release_registration_hold'
/** Ends a hold's Checkout Session at Stripe once the hold ended before the session would. */
export const EXPIRE_TICKET_CHECKOUT_TASK = 'expire_ticket_checkout'

/** How long places are held while their buyer pays. */
export const HOLD_MINUTES = 30
/**
 * Stripe refuses a session ending less than 30 minutes after it receives the request, by its own
 * clock: the margin covers the network, the SDK's retries and clock skew.
 */
const HOLD_MARGIN_MS = 2 * 60 * 1000

export function holdDeadline(now: Date) {
  return new Date(now.getTime() + HOLD_MINUTES * 60 * 1000 + HOLD_MARGIN_MS)
}

/** A registration whose places are held until `holdExpiresAt`, waiting for its Checkout Session. */
export type Hold = {
  kind: 'hold'
  registrationId: string
  eventId: string
  amountMinor: number
  currency: string
  quantity: number
  email: string
  holdExpiresAt: Date
  /**
   * Set when the hold is a claimed waitlist offer: if Stripe cannot be reached, the place goes
   * back to being offered until this deadline rather than to the next person.
   */
  offerExpiresAt?: Date
}

export const OFFER_KEPT_MESSAGE =
  'We could not reach our payment provider. Nothing has been charged, and the place is still offered to you: please try again in a moment.'

/**
 * A claimed offer whose Checkout Session could not be made is offered again until its own
 * deadline; past it, the place goes to the next person. Returns true when it is offered again.
 */
export async function returnHoldToOffer(trx: Trx, registrationId: string, offerExpiresAt: Date): Promise<boolean> {
  if (offerExpiresAt <= new Date()) {
    await releaseHold(trx, registrationId, { onlyWithoutSession: true })
    return false
  }
  const offered = await trx
    .updateTable('registrations')
    .set({ status: 'offered', hold_expires_at: null, offer_expires_at: offerExpiresAt, updated_at: new Date() })
    .where('id', '=', registrationId)
    .where('status', '=', 'held')
    .where('stripe_checkout_session_id', 'is', null)
    .returning('id')
    .executeTakeFirst()
  return offered !== undefined
}

/**
 * Ends a hold that is still a hold: its places go back and the waitlist moves. Returns false
 * when there was nothing to release (paid, cancelled or released already). `endSession` is for a
 * hold ended before its deadline (its holder left the payment page): its Checkout Session is
 * expired at Stripe by a job after this commits, so nobody pays for places given back.
 */
export async function releaseHold(
  trx: Trx,
  registrationId: string,
  options: { onlyWithoutSession?: boolean; endSession?: boolean } = {},
): Promise<boolean> {
  const registration = await trx
    .selectFrom('registrations')
    .select(['id', 'status', 'event_id', 'quantity', 'stripe_checkout_session_id'])
    .where('id', '=', registrationId)
    .forUpdate()
    .executeTakeFirst()
  if (registration?.status !== 'held') return false
  if (options.onlyWithoutSession && registration.stripe_checkout_session_id) return false
  await trx
    .updateTable('registrations')
    .set({
      status: 'expired',
      updated_at: new Date(),
      // A hold that never reached Stripe, or that its holder gave back, frees its submission id,
      // so trying the same form again starts afresh (a new registration, a new session).
      ...(options.onlyWithoutSession || options.endSession ? { submission_id: null } : {}),
    })
    .where('id', '=', registration.id)
    .execute()
  if (options.endSession && registration.stripe_checkout_session_id) await endCheckoutSessionLater(trx, registration.stripe_checkout_session_id)
  await releasePlaces(trx, registration.event_id, registration.quantity)
  await offerFreedPlaces(trx, registration.event_id)
  return true
}

/**
 * Queues the Stripe call that ends a hold's session, in the caller's transaction: Stripe refuses
 * an `expires_at` under 30 minutes, so a hold that ends sooner ends its session explicitly.
 */
export async function endCheckoutSessionLater(trx: Trx, sessionId: string) {
  await addJob(trx, EXPIRE_TICKET_CHECKOUT_TASK, { sessionId }, { jobKey: `expire-checkout:${sessionId}` })
}

/** The job: ends the session at Stripe. One already paid or expired is left to its webhook. */
export async function expireTicketCheckout(sessionId: string) {
  return expireCheckoutSession(sessionId)
}

/**
 * The holder left Stripe's payment page without paying (its cancel link): the places go back at
 * once rather than in half an hour, and the session is ended. A claimed waitlist offer is kept:
 * it is this person's place until the offer's deadline, so they may go back to payment.
 */
export async function giveBackHold(db: Database, registrationId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const claimedOffer = await trx
      .selectFrom('registrations')
      .select('id')
      .where('id', '=', registrationId)
      .where('status', '=', 'held')
      .where('offer_expires_at', 'is not', null)
      .executeTakeFirst()
    if (claimedOffer) return false
    return releaseHold(trx, registrationId, { endSession: true })
  })
}

/** The job at a hold's deadline (job key `release-hold:<id>`). */
export async function releaseExpiredHold(db: Database, registrationId: string) {
  return db.transaction().execute((trx) => releaseHold(trx, registrationId))
}
