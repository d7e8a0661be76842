import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { holdDeadline, REFUND_REGISTRATION_TASK, RELEASE_HOLD_TASK, startTicketCheckout, type Hold } from './paid-tickets.server.ts'
import {
  checkinQrAttachment,
  newCheckinToken,
  registrationEmailFacts,
  releasePlaces,
  sendConfirmation,
  takePlaces,
  waitlistPosition,
} from './register.server.ts'

type Trx = DatabaseTransaction

export const EXPIRE_OFFER_TASK = 'expire_waitlist_offer'

export async function getRegistration(db: Database, registrationId: string) {
  if (!/^[0-9a-f-]{36}$/i.test(registrationId)) return undefined
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
      'e.title as event_title',
      'e.slug as event_slug',
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

/**
 * Cancels a registration: its places go back at once and the waitlist moves, in one transaction;
 * a paid place cancelled in time is refunded by a job (Stripe is not called inside the
 * transaction). Cancelling twice is harmless.
 */
export async function cancelRegistration(db: Database, registrationId: string): Promise<'cancelled' | 'already-cancelled'> {
  return db.transaction().execute(async (trx) => {
    const registration = await trx
      .selectFrom('registrations as r')
      .innerJoin('events as e', 'e.id', 'r.event_id')
      .select(['r.id', 'r.event_id', 'r.status', 'r.quantity', 'r.email', 'r.currency', 'r.amount_minor', 'r.refunded_minor', 'r.stripe_payment_intent_id', 'e.starts_at'])
      .where('r.id', '=', registrationId)
      .forUpdate(['r'])
      .executeTakeFirst()
    if (!registration || !['confirmed', 'waitlisted', 'offered', 'held'].includes(registration.status)) return 'already-cancelled'
    const refund = cancellationRefund(registration)
    await trx
      .updateTable('registrations')
      .set({ status: 'cancelled', cancelled_at: new Date(), updated_at: new Date() })
      .where('id', '=', registration.id)
      .execute()
    const { common } = await registrationEmailFacts(trx, registration.id)
    await enqueueEmail(trx, {
      template: 'registration-cancelled',
      to: registration.email,
      props: {
        ...common,
        refundMinor: refund.refundMinor,
        currency: registration.currency,
        notRefundedWithinDays: refund.paid && refund.refundMinor === 0 ? refund.daysBefore : null,
      },
      idempotencyKey: `registration-cancelled/${registration.id}`,
    })
    if (refund.refundMinor > 0) {
      // The amount decided now travels with the job: by the time it runs the window may have passed.
      await addJob(
        trx,
        REFUND_REGISTRATION_TASK,
        { registrationId: registration.id, amountMinor: refund.refundMinor },
        { jobKey: `refund-registration:${registration.id}` },
      )
    }
    // Only a held, confirmed or offered registration had places; a waiting one had none.
    if (registration.status !== 'waitlisted') {
      await releasePlaces(trx, registration.event_id, registration.quantity)
      await offerFreedPlaces(trx, registration.event_id)
    }
    return 'cancelled'
  })
}

/**
 * Offers freed places to the people waiting, first in first out. An offer holds its places for
 * WAITLIST_OFFER_HOURS (24 by default); the person claims it from their email, or it passes on.
 */
export async function offerFreedPlaces(trx: Trx, eventId: string) {
  // The event row lock keeps two cancellations from offering the same freed place twice.
  await trx.selectFrom('events').select('id').where('id', '=', eventId).forUpdate().execute()
  for (;;) {
    const next = await trx
      .selectFrom('registrations')
      .select(['id', 'quantity'])
      .where('event_id', '=', eventId)
      .where('status', '=', 'waitlisted')
      .orderBy('waitlisted_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst()
    if (!next || !(await takePlaces(trx, eventId, next.quantity))) return
    const expiresAt = new Date(Date.now() + getEnv().WAITLIST_OFFER_HOURS * 60 * 60 * 1000)
    await trx
      .updateTable('registrations')
      .set({ status: 'offered', offer_expires_at: expiresAt, updated_at: new Date() })
      .where('id', '=', next.id)
      .execute()
    const { row, common } = await registrationEmailFacts(trx, next.id)
    await enqueueEmail(trx, {
      template: 'place-offered',
      to: row.email,
      props: { ...common, claimUrl: manageRegistrationUrl(next.id), offerExpiresAt: expiresAt.toISOString() },
      // One email per offer: a second offer after a lapse gets a new key.
      idempotencyKey: `place-offered/${next.id}/${expiresAt.getTime()}`,
    })
    await addJob(trx, EXPIRE_OFFER_TASK, { registrationId: next.id }, { jobKey: `expire-offer:${next.id}`, runAt: expiresAt })
  }
}

export type ClaimOutcome =
  | { outcome: 'confirmed' | 'expired' | 'not-offered' }
  | { outcome: 'checkout'; url: string }
  | { outcome: 'unavailable'; message: string }

/**
 * Claims an offered place. A free place is confirmed at once. A paid or pay-what-you-can place
 * becomes a hold, exactly like a new paid registration: it stays this person's for the Checkout
 * Session's lifetime, the webhook confirms it, and if the session ends unpaid the place goes to
 * the next person waiting. Claiming again while the hold lasts goes back to the same session.
 */
export async function claimOffer(db: Database, registrationId: string, context: { origin: string }): Promise<ClaimOutcome> {
  const step = await db.transaction().execute(async (trx): Promise<ClaimOutcome | (Hold & { outcome: 'hold' })> => {
    const registration = await trx
      .selectFrom('registrations')
      .select(['id', 'status', 'offer_expires_at', 'hold_expires_at', 'event_id', 'ticket_type_id', 'quantity', 'amount_minor', 'currency', 'email'])
      .where('id', '=', registrationId)
      .forUpdate()
      .executeTakeFirst()
    if (registration?.status === 'held' && registration.hold_expires_at && registration.hold_expires_at > new Date()) {
      return { ...holdOf(registration, registration.hold_expires_at), offerExpiresAt: registration.offer_expires_at ?? undefined }
    }
    if (!registration || registration.status !== 'offered') return { outcome: 'not-offered' }
    if (!registration.offer_expires_at || registration.offer_expires_at <= new Date()) {
      await lapseOffer(trx, registration)
      return { outcome: 'expired' }
    }
    const ticket = await trx
      .selectFrom('ticket_types')
      .select(['kind', 'price_minor', 'min_price_minor'])
      .where('id', '=', registration.ticket_type_id)
      .executeTakeFirstOrThrow()
    const amountMinor = claimPrice(ticket, registration)
    if (amountMinor === 0) {
      await trx
        .updateTable('registrations')
        .set({ status: 'confirmed', confirmed_at: new Date(), checkin_token: newCheckinToken(), offer_expires_at: null, updated_at: new Date() })
        .where('id', '=', registration.id)
        .execute()
      await sendConfirmation(trx, registration.id)
      return { outcome: 'confirmed' }
    }
    // The offer's places are already taken for this person: they turn into a hold, not a new booking.
    const holdExpiresAt = holdDeadline(new Date())
    await trx
      .updateTable('registrations')
      .set({ status: 'held', hold_expires_at: holdExpiresAt, amount_minor: amountMinor, updated_at: new Date() })
      .where('id', '=', registration.id)
      .execute()
    await addJob(trx, RELEASE_HOLD_TASK, { registrationId: registration.id }, { jobKey: `release-hold:${registration.id}`, runAt: holdExpiresAt })
    return { ...holdOf({ ...registration, amount_minor: amountMinor }, holdExpiresAt), offerExpiresAt: registration.offer_expires_at }
  })
  if (step.outcome !== 'hold') return step
  const names = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select(['e.title', 't.name'])
    .where('r.id', '=', step.registrationId)
    .executeTakeFirstOrThrow()
  // Stripe is called after the commit, as for a new registration.
  const checkout = await startTicketCheckout(db, step, { origin: context.origin, eventTitle: names.title, ticketName: names.name })
  if (checkout.kind === 'checkout') return { outcome: 'checkout', url: checkout.url }
  if (checkout.kind === 'unavailable') return { outcome: 'unavailable', message: checkout.message }
  throw new Error(`Unexpected checkout outcome ${checkout.kind}`)
}

type HoldSource = { id: string; event_id: string; amount_minor: number; currency: string; quantity: number; email: string }

function holdOf(registration: HoldSource, holdExpiresAt: Date): Hold & { outcome: 'hold' } {
  return {
    kind: 'hold',
    outcome: 'hold',
    registrationId: registration.id,
    eventId: registration.event_id,
    amountMinor: registration.amount_minor,
    currency: registration.currency,
    quantity: registration.quantity,
    email: registration.email,
    holdExpiresAt,
  }
}

/**
 * What an offered place costs: the price agreed when the person joined the waitlist (for pay what
 * you can, the amount they chose), or for an older registration that kept none, the ticket's price.
 */
function claimPrice(
  ticket: { kind: 'free' | 'paid' | 'pay_what_you_can'; price_minor: number; min_price_minor: number },
  registration: { amount_minor: number; quantity: number },
) {
  if (ticket.kind === 'free') return 0
  if (registration.amount_minor > 0) return registration.amount_minor
  return (ticket.kind === 'paid' ? ticket.price_minor : ticket.min_price_minor) * registration.quantity
}

async function lapseOffer(trx: Trx, registration: { id: string; event_id: string; quantity: number }) {
  await trx
    .updateTable('registrations')
    .set({ status: 'expired', updated_at: new Date() })
    .where('id', '=', registration.id)
    .where('status', '=', 'offered')
    .execute()
  await releasePlaces(trx, registration.event_id, registration.quantity)
  await offerFreedPlaces(trx, registration.event_id)
}

/** The job at an offer's deadline: an unclaimed offer passes to the next person. */
export async function expireOffer(db: Database, registrationId: string, now = new Date()) {
  await db.transaction().execute(async (trx) => {
    const registration = await trx
      .selectFrom('registrations')
      .select(['id', 'status', 'offer_expires_at', 'event_id', 'quantity'])
      .where('id', '=', registrationId)
      .forUpdate()
      .executeTakeFirst()
    if (registration?.status !== 'offered' || !registration.offer_expires_at || registration.offer_expires_at > now) return
    await lapseOffer(trx, registration)
  })
}

export const SEND_REMINDERS_TASK = 'send_event_reminders'

/**
 * Reminders for everyone confirmed for events starting within EVENT_REMINDER_HOURS (24 by
 * default). Each registration is
 * marked in the same transaction as its email is queued, and the email's key is per registration,
 * so running this twice (or on two workers at once) sends each reminder once.
 */
export async function sendEventReminders(db: Database, now = new Date()) {
  const due = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .select(['r.id'])
    .where('r.status', '=', 'confirmed')
    .where('r.reminder_sent_at', 'is', null)
    .where('e.status', '=', 'published')
    .where('e.starts_at', '>', now)
    .where('e.starts_at', '<=', new Date(now.getTime() + getEnv().EVENT_REMINDER_HOURS * 60 * 60 * 1000))
    .execute()
  let sent = 0
  for (const { id } of due) {
    const marked = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('registrations')
        .set({ reminder_sent_at: now })
        .where('id', '=', id)
        .where('reminder_sent_at', 'is', null)
        .returning('id')
        .executeTakeFirst()
      if (!claimed) return false
      const { row, common } = await registrationEmailFacts(trx, id)
      // The same QR code as the confirmation's, for whoever kept only the reminder to hand.
      const attachments = row.checkin_token ? [await checkinQrAttachment(row.checkin_token)] : []
      await enqueueEmail(trx, {
        template: 'event-reminder',
        to: row.email,
        props: {
          ...common,
          venueName: row.venue_name,
          venueAddress: row.venue_address,
          accessNotes: row.access_notes,
          onlineUrl: row.online_url,
          checkinCode: row.checkin_token,
          hasQrAttachment: attachments.length > 0,
          cancelUrl: manageRegistrationUrl(id),
        },
        idempotencyKey: `event-reminder/${id}`,
        attachments,
      })
      return true
    })
    if (marked) sent += 1
  }
  return { sent }
}

export async function placesLeftForEvent(db: Database, eventId: string) {
  const { rows } = await sql<{ left: number }>`select (capacity - places_taken)::bigint as left from events where id = ${eventId}`.execute(db)
  return rows[0]?.left ?? 0
}
