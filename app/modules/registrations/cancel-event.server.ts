import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'
import { registrationEmailFacts } from '#app/modules/registrations/registration-emails.server.ts'
import { REFUND_REGISTRATION_TASK } from '#app/modules/registrations/paid-tickets.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

/**
 * Staff cancel an event: in one transaction the event is marked cancelled, every live
 * registration ends, each person is told (one email each, keyed per registration), paid places
 * are marked refunded and a refund job is queued for each (Stripe is called after the commit,
 * with its own idempotency key), and an audit entry records who did it.
 */
export async function cancelEvent(
  db: Database,
  eventId: string,
  options: { message: string | null; staffUserId: string | null },
): Promise<{ outcome: 'cancelled'; told: number; refunded: number } | { outcome: 'already-cancelled' | 'not-found' }> {
  return db.transaction().execute(async (trx) => {
    const event = await trx.selectFrom('events').select(['id', 'status', 'organiser_name']).where('id', '=', eventId).forUpdate().executeTakeFirst()
    if (!event) return { outcome: 'not-found' }
    if (event.status === 'cancelled') return { outcome: 'already-cancelled' }
    const now = new Date()
    await trx
      .updateTable('events')
      .set({ status: 'cancelled', cancelled_at: now, places_taken: 0, updated_at: now })
      .where('id', '=', event.id)
      .execute()

    const live = await trx
      .selectFrom('registrations')
      .select(['id', 'status', 'email', 'amount_minor', 'currency', 'stripe_payment_intent_id'])
      .where('event_id', '=', event.id)
      .where('status', 'in', LIVE_REGISTRATION_STATUSES)
      .orderBy('created_at')
      .forUpdate()
      .execute()
    let refunded = 0
    for (const registration of live) {
      const paid = registration.status === 'confirmed' && registration.amount_minor > 0 && registration.stripe_payment_intent_id !== null
      await trx
        .updateTable('registrations')
        .set({ status: paid ? 'refunded' : 'cancelled', cancelled_at: now, updated_at: now })
        .where('id', '=', registration.id)
        .execute()
      const { common } = await registrationEmailFacts(trx, registration.id)
      await enqueueEmail(trx, {
        template: 'event-cancelled',
        to: registration.email,
        props: {
          organisation: common.organisation,
          name: common.name,
          eventTitle: common.eventTitle,
          startsAt: common.startsAt,
          endsAt: common.endsAt,
          timeZone: common.timeZone,
          organiserName: event.organiser_name,
          message: options.message,
          refundMinor: paid ? registration.amount_minor : null,
          currency: paid ? registration.currency : null,
        },
        idempotencyKey: `event-cancelled/${registration.id}`,
      })
      if (paid) {
        refunded += 1
        await addJob(trx, REFUND_REGISTRATION_TASK, { registrationId: registration.id }, { jobKey: `refund-registration:${registration.id}` })
      }
    }
    await recordAudit(trx, { staffUserId: options.staffUserId, action: 'event.cancel', subjectType: 'event', subjectId: event.id, details: { told: live.length, refunded } })
    return { outcome: 'cancelled', told: live.length, refunded }
  })
}
