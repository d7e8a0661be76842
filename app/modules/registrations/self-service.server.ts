import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { REFUND_REGISTRATION_TASK } from '#app/modules/registrations/paid-tickets.server.ts'
import { releasePlaces } from '#app/modules/registrations/places.server.ts'
import { registrationEmailFacts } from '#app/modules/registrations/registration-emails.server.ts'
import { waitlistPosition, offerFreedPlaces } from '#app/modules/registrations/waitlist.server.ts'
import { claimPrice } from '#app/modules/registrations/waitlist-claim.server.ts'
import { endCheckoutSessionLater } from '#app/modules/registrations/holds.server.ts'
import { isUuid } from '#app/utils/ids.ts'


export async function getRegistration(db: Database, registrationId: string) {
  if (!isUuid(registrationId)) return undefined
  const registration = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.status',
      'r.name',
      'r.quantity',
      'r.offer_expires_at',
      'r.hold_expires_at',
      'r.checkin_token',
      'e.id as event_id',
      'e.title as event_title',
      'e.slug as event_slug',
      'e.summary as event_summary',
      'e.organiser_name',
      'e.calendar_changed_at',
      'e.starts_at',
      'e.ends_at',
      'e.time_zone',
      'e.mode',
      'e.venue_name',
      'e.venue_address',
      'e.online_url',
      't.name as ticket_name',
      'r.amount_minor',
      'r.refunded_minor',
      'r.currency',
      'r.stripe_payment_intent_id',
      'r.waitlisted_at',
      'r.waitlist_confirmed_at',
      'e.status as event_status',
      'e.capacity',
      'e.places_taken',
      't.kind as ticket_kind',
      't.price_minor',
      't.min_price_minor',
    ])
    .where('r.id', '=', registrationId)
    .executeTakeFirst()
  if (!registration) return undefined
  const position = registration.status === 'waitlisted' ? await waitlistPosition(db, registration.id) : null
  const claimPriceMinor = claimPrice({ kind: registration.ticket_kind, price_minor: registration.price_minor, min_price_minor: registration.min_price_minor }, registration)
  return { ...registration, position, claimPriceMinor }
}

/**
 * What cancelling now would give back: the rest of what was paid for a confirmed paid place, when
 * the event is more than TICKET_REFUND_DAYS_BEFORE days away; otherwise nothing. The page says it
 * before the person cancels, and the cancellation does the same sum.
 */
export function cancellationRefund(
  registration: { status: string; amount_minor: number; refunded_minor: number; stripe_payment_intent_id: string | null; starts_at: Date },
  now = new Date(),
): { refundMinor: number; paid: boolean; daysBefore: number } {
  const daysBefore = getEnv().TICKET_REFUND_DAYS_BEFORE
  const left = registration.amount_minor - registration.refunded_minor
  const paid = registration.status === 'confirmed' && registration.stripe_payment_intent_id !== null && left > 0
  const inTime = registration.starts_at.getTime() - now.getTime() > daysBefore * 24 * 60 * 60 * 1000
  return { refundMinor: paid && inTime ? left : 0, paid, daysBefore }
}

/** What became of a cancelled registration's places. */
export type PlaceAfterwards = 'offered' | 'freed' | 'no-place'

export type CancellationPreview = {
  refundMinor: number
  currency: string
  /** A paid place: the page says whether it is refunded, and why not. */
  paid: boolean
  daysBefore: number
  afterwards: PlaceAfterwards
  /** What the person is giving up: a confirmed place, a place being paid for, an offer, a waitlist entry. */
  status: string
}

/**
 * What cancelling now would do, said on the confirmation step before the person decides: the
 * refund (cancellationRefund) and whether the places would go to someone waiting. Places are
 * offered first come, first served, so they are passed on exactly when the first confirmed person
 * waiting fits into what would be free (as offerFreedPlaces decides); otherwise they are freed.
 */
export async function previewCancellation(db: Database, registrationId: string): Promise<CancellationPreview | null> {
  const registration = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .select(['r.id', 'r.status', 'r.quantity', 'r.currency', 'r.amount_minor', 'r.refunded_minor', 'r.stripe_payment_intent_id', 'r.event_id', 'e.starts_at', 'e.capacity', 'e.places_taken'])
    .where('r.id', '=', registrationId)
    .executeTakeFirst()
  if (!registration || !CANCELLABLE.includes(registration.status)) return null
  const refund = cancellationRefund(registration)
  let afterwards: PlaceAfterwards = 'no-place'
  if (registration.status !== 'waitlisted') {
    const next = await db
      .selectFrom('registrations')
      .select('quantity')
      .where('event_id', '=', registration.event_id)
      .where('status', '=', 'waitlisted')
      .where('waitlist_confirmed_at', 'is not', null)
      .orderBy('waitlist_confirmed_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst()
    const free = registration.capacity - registration.places_taken + registration.quantity
    afterwards = next && next.quantity <= free ? 'offered' : 'freed'
  }
  return { refundMinor: refund.refundMinor, currency: registration.currency, paid: refund.paid, daysBefore: refund.daysBefore, afterwards, status: registration.status }
}

const CANCELLABLE: string[] = ['confirmed', 'waitlisted', 'offered', 'held']

export type CancellationResult =
  | { outcome: 'cancelled'; refundMinor: number; currency: string; paid: boolean; daysBefore: number; afterwards: PlaceAfterwards }
  | { outcome: 'already-cancelled' }

/**
 * Cancels a registration: its places go back at once and the waitlist moves, in one transaction;
 * a paid place cancelled in time is refunded by a job (Stripe is not called inside the
 * transaction), and a place still being paid for has its Checkout Session ended by a job, so
 * nobody pays for it. Cancelling twice is harmless. The result says what truly happened: a place
 * is "offered" only when someone waiting was offered it.
 */
export async function cancelBooking(db: Database, registrationId: string): Promise<CancellationResult> {
  return db.transaction().execute(async (trx) => {
    const registration = await trx
      .selectFrom('registrations as r')
      .innerJoin('events as e', 'e.id', 'r.event_id')
      .select([
        'r.id',
        'r.event_id',
        'r.status',
        'r.quantity',
        'r.email',
        'r.currency',
        'r.amount_minor',
        'r.refunded_minor',
        'r.stripe_payment_intent_id',
        'r.stripe_checkout_session_id',
        'e.starts_at',
      ])
      .where('r.id', '=', registrationId)
      .forUpdate(['r'])
      .executeTakeFirst()
    if (!registration || !CANCELLABLE.includes(registration.status)) return { outcome: 'already-cancelled' }
    const refund = cancellationRefund(registration)
    await trx
      .updateTable('registrations')
      .set({ status: 'cancelled', cancelled_at: new Date(), updated_at: new Date() })
      .where('id', '=', registration.id)
      .execute()
    if (refund.refundMinor > 0) {
      // The amount decided now travels with the job: by the time it runs the window may have passed.
      await addJob(
        trx,
        REFUND_REGISTRATION_TASK,
        { registrationId: registration.id, amountMinor: refund.refundMinor },
        { jobKey: `refund-registration:${registration.id}` },
      )
    }
    // A place still being paid for: its session must not take a payment for places given back.
    if (registration.status === 'held' && registration.stripe_checkout_session_id) await endCheckoutSessionLater(trx, registration.stripe_checkout_session_id)
    // Only a held, confirmed or offered registration had places; a waiting one had none.
    let afterwards: PlaceAfterwards = 'no-place'
    if (registration.status !== 'waitlisted') {
      await releasePlaces(trx, registration.event_id, registration.quantity)
      afterwards = (await offerFreedPlaces(trx, registration.event_id)) > 0 ? 'offered' : 'freed'
    }
    const { common } = await registrationEmailFacts(trx, registration.id)
    await enqueueEmail(trx, {
      template: 'registration-cancelled',
      to: registration.email,
      props: {
        ...common,
        refundMinor: refund.refundMinor,
        currency: registration.currency,
        notRefundedWithinDays: refund.paid && refund.refundMinor === 0 ? refund.daysBefore : null,
        afterwards,
      },
      idempotencyKey: `registration-cancelled/${registration.id}`,
    })
    return { outcome: 'cancelled', refundMinor: refund.refundMinor, currency: registration.currency, paid: refund.paid, daysBefore: refund.daysBefore, afterwards }
  })
}

/** Cancels a registration (cancelBooking), answering only whether it was cancelled now. */
export async function cancelRegistration(db: Database, registrationId: string): Promise<'cancelled' | 'already-cancelled'> {
  return (await cancelBooking(db, registrationId)).outcome
}
