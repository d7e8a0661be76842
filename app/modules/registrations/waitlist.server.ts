import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { takePlaces, releasePlaces } from '#app/modules/registrations/places.server.ts'
import { registrationEmailFacts } from '#app/modules/registrations/registration-emails.server.ts'

type Trx = DatabaseTransaction

export const EXPIRE_OFFER_TASK = 'expire_waitlist_offer'

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

export async function lapseOffer(trx: Trx, registration: { id: string; event_id: string; quantity: number }) {
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
export async function waitlistPosition(db: Database | Trx, registrationId: string) {
  const { rows } = await sql<{ position: number }>`
    select count(*)::bigint as position from registrations r, registrations me
    where me.id = ${registrationId} and r.event_id = me.event_id and r.status = 'waitlisted'
      and (r.waitlisted_at, r.id) <= (me.waitlisted_at, me.id)`.execute(db)
  return rows[0]?.position ?? 0
}
