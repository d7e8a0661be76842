import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { newCheckinToken } from '#app/modules/registrations/check-in.server.ts'
import { type Hold, holdDeadline, RELEASE_HOLD_TASK } from '#app/modules/registrations/holds.server.ts'
import { sendConfirmation } from '#app/modules/registrations/registration-emails.server.ts'
import { startTicketCheckout } from '#app/modules/registrations/ticket-checkout.server.ts'
import { lapseOffer } from '#app/modules/registrations/waitlist.server.ts'


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
export function claimPrice(
  ticket: { kind: 'free' | 'paid' | 'pay_what_you_can'; price_minor: number; min_price_minor: number },
  registration: { amount_minor: number; quantity: number },
) {
  if (ticket.kind === 'free') return 0
  if (registration.amount_minor > 0) return registration.amount_minor
  return (ticket.kind === 'paid' ? ticket.price_minor : ticket.min_price_minor) * registration.quantity
}
