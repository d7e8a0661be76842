import { sql } from 'kysely'
import { refundPayment } from '#app/modules/payments/stripe.server.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { newCheckinToken } from '#app/modules/registrations/check-in.server.ts'
import { releaseHold } from '#app/modules/registrations/holds.server.ts'
import { takePlaces, releasePlaces } from '#app/modules/registrations/places.server.ts'
import { sendConfirmation, registrationEmailFacts } from '#app/modules/registrations/registration-emails.server.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'
import { offerFreedPlaces } from '#app/modules/registrations/waitlist.server.ts'

/**
 * Paid and pay-what-you-can tickets. The places are taken first (held), then paid for through
 * Stripe Checkout; the webhook confirms them. A hold ends with its Checkout Session, and a
 * payment that arrives after the places went back gets them again only if they still fit:
 * otherwise it is refunded. An event is never oversold, whatever order things happen in.
 */

type Trx = DatabaseTransaction

export const REFUND_REGISTRATION_TASK = 'refund_registration'




export type TicketPayment = { paymentIntentId: string | null; checkoutSessionId: string }

/**
 * A paid Checkout Session for a registration, in the webhook's transaction. A held registration
 * is confirmed; one whose hold ended takes its places again if they still fit, and otherwise is
 * refunded in full. Confirming twice changes nothing.
 */
export async function confirmPaidRegistration(
  trx: Trx,
  registrationId: string,
  payment: TicketPayment,
): Promise<'confirmed' | 'refunded' | 'unchanged' | 'unknown'> {
  const registration = await trx
    .selectFrom('registrations')
    .select(['id', 'status', 'event_id', 'quantity', 'email', 'amount_minor', 'currency', 'is_group_booking'])
    .where('id', '=', registrationId)
    .forUpdate()
    .executeTakeFirst()
  if (!registration) {
    getLogger().warn({ registrationId }, 'Checkout Session for an unknown registration')
    return 'unknown'
  }
  if (registration.status === 'confirmed' || registration.status === 'refunded') return 'unchanged'

  let placed = registration.status === 'held'
  if (registration.status === 'expired') placed = await retakePlaces(trx, registration)

  if (placed) {
    await trx
      .updateTable('registrations')
      .set((eb) => ({
        status: 'confirmed',
        confirmed_at: new Date(),
        checkin_token: newCheckinToken(),
        stripe_payment_intent_id: payment.paymentIntentId,
        stripe_checkout_session_id: eb.fn.coalesce('stripe_checkout_session_id', eb.val(payment.checkoutSessionId)),
        updated_at: new Date(),
      }))
      .where('id', '=', registration.id)
      .execute()
    await sendConfirmation(trx, registration.id)
    return 'confirmed'
  }

  if (!payment.paymentIntentId) {
    // A payment-mode session always has one; without it there is nothing to refund automatically.
    getLogger().error({ registrationId }, 'A paid registration without places has no payment intent to refund')
    return 'unknown'
  }
  await trx
    .updateTable('registrations')
    .set((eb) => ({
      status: 'refunded',
      cancelled_at: new Date(),
      stripe_payment_intent_id: payment.paymentIntentId,
      stripe_checkout_session_id: eb.fn.coalesce('stripe_checkout_session_id', eb.val(payment.checkoutSessionId)),
      updated_at: new Date(),
    }))
    .where('id', '=', registration.id)
    .execute()
  const { common } = await registrationEmailFacts(trx, registration.id)
  await enqueueEmail(trx, {
    template: 'registration-cancelled',
    to: registration.email,
    props: { ...common, refundMinor: registration.amount_minor, currency: registration.currency, reason: 'no-place-left' },
    // Its own kind: a hold cancelled before it was paid may already have a cancellation email.
    idempotencyKey: `registration-refunded/${registration.id}`,
  })
  // Stripe is called by the job, after this commit: a rolled-back webhook refunds nothing.
  await addJob(trx, REFUND_REGISTRATION_TASK, { registrationId: registration.id }, { jobKey: `refund-registration:${registration.id}` })
  return 'refunded'
}

/**
 * A payment for a hold that already ended: its places went back, so it must take them again, and
 * may not if the event filled, was cancelled, or the person has registered again since.
 */
async function retakePlaces(trx: Trx, registration: { id: string; event_id: string; quantity: number; email: string; is_group_booking: boolean }) {
  const event = await trx.selectFrom('events').select(['status', 'starts_at']).where('id', '=', registration.event_id).executeTakeFirstOrThrow()
  if (event.status !== 'published') return false
  if (!registration.is_group_booking) {
    // One live registration per person and event (a unique index): a second one would fail the webhook forever.
    const other = await trx
      .selectFrom('registrations')
      .select('id')
      .where('event_id', '=', registration.event_id)
      .where(sql<boolean>`lower(email) = lower(${registration.email})`)
      .where('status', 'in', LIVE_REGISTRATION_STATUSES)
      .where('is_group_booking', '=', false)
      .where('id', '<>', registration.id)
      .executeTakeFirst()
    if (other) return false
  }
  return takePlaces(trx, registration.event_id, registration.quantity)
}

/**
 * `charge.refunded` for a ticket's payment: a refund made in Stripe's dashboard, or our own. A
 * full refund ends a confirmed place (its places go back and the waitlist moves); a partial one
 * leaves it. Returns false when the payment is no ticket's, so the caller looks for a donation.
 * A refund that arrives before its payment's confirmation waits in the Stripe inbox and is
 * applied here once the confirmation has recorded the payment intent.
 *
 * Only a confirmed place can be refunded by someone else (staff in Stripe's dashboard): every
 * refund of ours ends the registration first (cancelled or refunded) and sends its own email, so
 * only a refund of a confirmed place tells the person, once per amount refunded so far.
 */
export async function recordTicketRefund(
  trx: Trx,
  paymentIntentId: string | null,
  charge: { amount: number; amount_refunded: number; refunded?: boolean | null },
): Promise<boolean> {
  if (!paymentIntentId) return false
  const registration = await trx
    .selectFrom('registrations')
    .select(['id', 'status', 'event_id', 'quantity', 'email', 'currency', 'refunded_minor'])
    .where('stripe_payment_intent_id', '=', paymentIntentId)
    .forUpdate()
    .executeTakeFirst()
  if (!registration) return false
  // Already refunded (our own refund of a late payment, or a cancelled event) or cancelled: nothing to end.
  if (registration.status !== 'confirmed') {
    // Our refund job gives back what is left of a place that ended, so what Stripe reports as
    // already given back (by staff in the Dashboard, before the late payment reached us or before
    // the job ran) is not asked for twice, which Stripe would refuse.
    if ((registration.status === 'refunded' || registration.status === 'cancelled') && charge.amount_refunded > registration.refunded_minor) {
      await trx.updateTable('registrations').set({ refunded_minor: charge.amount_refunded, updated_at: new Date() }).where('id', '=', registration.id).execute()
    }
    return true
  }
  // Stripe reports the cumulative amount: a repeated or older event is not above what we hold.
  const refundMinor = charge.amount_refunded - registration.refunded_minor
  if (refundMinor <= 0) return true
  const fullRefund = charge.refunded === true || charge.amount_refunded >= charge.amount
  await trx
    .updateTable('registrations')
    .set({
      refunded_minor: charge.amount_refunded,
      ...(fullRefund ? { status: 'refunded' as const, cancelled_at: new Date() } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', registration.id)
    .execute()
  if (fullRefund) {
    await releasePlaces(trx, registration.event_id, registration.quantity)
    await offerFreedPlaces(trx, registration.event_id)
  }
  const { common } = await registrationEmailFacts(trx, registration.id)
  await enqueueEmail(trx, {
    template: 'registration-refunded',
    to: registration.email,
    props: {
      ...common,
      refundMinor,
      totalRefundedMinor: charge.amount_refunded,
      currency: registration.currency,
      placeReleased: fullRefund,
      manageUrl: manageRegistrationUrl(registration.id),
    },
    idempotencyKey: `registration-refunded:${registration.id}:${charge.amount_refunded}`,
  })
  return true
}

/** `checkout.session.expired` for a registration: a hold still waiting gives its places back. */
export async function expireHeldRegistration(trx: Trx, registrationId: string) {
  return releaseHold(trx, registrationId)
}

/**
 * The refund job: gives the money back for a registration that ended with a refund due. A place
 * we ended (marked refunded) gets back whatever is left; a place its holder cancelled in time gets
 * the amount decided at the cancellation, which the job carries. Safe to run twice.
 */
export async function refundRegistration(db: Database, registrationId: string, options: { amountMinor?: number } = {}) {
  const registration = await db
    .selectFrom('registrations')
    .select(['id', 'status', 'amount_minor', 'refunded_minor', 'stripe_payment_intent_id'])
    .where('id', '=', registrationId)
    .executeTakeFirst()
  if (!registration?.stripe_payment_intent_id) return null
  // Only what is left: staff may already have refunded part of it in Stripe's dashboard.
  const leftMinor = registration.amount_minor - registration.refunded_minor
  const amountMinor =
    registration.status === 'refunded' ? leftMinor : registration.status === 'cancelled' ? Math.min(options.amountMinor ?? 0, leftMinor) : 0
  if (amountMinor <= 0) return null
  return refundPayment({
    paymentIntentId: registration.stripe_payment_intent_id,
    amountMinor,
    // The amount is part of the key: when a refund made in the Dashboard is reported after a
    // failed attempt, the next attempt asks for less, which Stripe refuses under the old key.
    idempotencyKey: `registration-refund:${registration.id}:${amountMinor}`,
  })
}
