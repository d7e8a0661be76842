import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { takePlaces, releasePlaces } from '#app/modules/registrations/places.server.ts'
import { registrationEmailFacts } from '#app/modules/registrations/registration-emails.server.ts'
import { waitlistConfirmDeadline } from '#app/modules/registrations/waitlist-deadline.server.ts'

type Trx = DatabaseTransaction

export const EXPIRE_OFFER_TASK = 'expire_waitlist_offer'
export const EXPIRE_UNCONFIRMED_WAITLIST_TASK = 'expire_unconfirmed_waitlist'

/**
 * Offers freed places to the people waiting, first in first out. An offer holds its places for
 * WAITLIST_OFFER_HOURS (24 by default); the person claims it from their email, or it passes on.
 * Only confirmed entries are offered (ADR 023): an address nobody confirmed from its email may be
 * made up, and a place offered to it would sit unclaimed for a day. Their order is the order they
 * confirmed in. Returns how many offers were made, so a page can say truly whether a place went
 * to someone waiting.
 */
export async function offerFreedPlaces(trx: Trx, eventId: string): Promise<number> {
  let offered = 0
  // The event row lock keeps two cancellations from offering the same freed place twice.
  await trx.selectFrom('events').select('id').where('id', '=', eventId).forUpdate().execute()
  for (;;) {
    const next = await trx
      .selectFrom('registrations')
      .select(['id', 'quantity'])
      .where('event_id', '=', eventId)
      .where('status', '=', 'waitlisted')
      .where('waitlist_confirmed_at', 'is not', null)
      .orderBy('waitlist_confirmed_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst()
    if (!next || !(await takePlaces(trx, eventId, next.quantity))) return offered
    offered += 1
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
/**
 * A confirmed entry's place in the queue; an unconfirmed one's is where it would go if confirmed
 * now, behind everyone confirmed (unconfirmed entries are not in the queue).
 */
export async function waitlistPosition(db: Database | Trx, registrationId: string) {
  const { rows } = await sql<{ position: number }>`
    select count(r.id)::bigint + (case when me.waitlist_confirmed_at is null then 1 else 0 end) as position
    from registrations me
    left join registrations r on r.event_id = me.event_id and r.status = 'waitlisted' and r.waitlist_confirmed_at is not null
      and (me.waitlist_confirmed_at is null or (r.waitlist_confirmed_at, r.id) <= (me.waitlist_confirmed_at, me.id))
    where me.id = ${registrationId}
    group by me.id, me.waitlist_confirmed_at`.execute(db)
  return Number(rows[0]?.position ?? 0)
}

/** A new waitlist entry: it lapses unless confirmed by its deadline (job key `expire-waitlist:<id>`). */
export async function scheduleWaitlistConfirmation(trx: Trx, registrationId: string, waitlistedAt: Date) {
  await addJob(trx, EXPIRE_UNCONFIRMED_WAITLIST_TASK, { registrationId }, { jobKey: `expire-waitlist:${registrationId}`, runAt: waitlistConfirmDeadline(waitlistedAt) })
}

export type WaitlistConfirmation = { outcome: 'confirmed' | 'already-confirmed' | 'lapsed' | 'not-waiting'; offered: boolean }

/**
 * The person opened the link in their waitlist email and confirmed: the entry joins the queue,
 * and if places are free (nobody confirmed was waiting for them) one may be offered at once.
 */
export async function confirmWaitlistPlace(db: Database, registrationId: string, now = new Date()): Promise<WaitlistConfirmation> {
  return db.transaction().execute(async (trx) => {
    const registration = await trx
      .selectFrom('registrations')
      .select(['id', 'status', 'event_id', 'waitlisted_at', 'waitlist_confirmed_at'])
      .where('id', '=', registrationId)
      .forUpdate()
      .executeTakeFirst()
    if (!registration) return { outcome: 'not-waiting', offered: false }
    if (registration.waitlist_confirmed_at) return { outcome: 'already-confirmed', offered: registration.status === 'offered' }
    if (registration.status !== 'waitlisted' || !registration.waitlisted_at) {
      return { outcome: registration.status === 'expired' ? 'lapsed' : 'not-waiting', offered: false }
    }
    if (waitlistConfirmDeadline(registration.waitlisted_at) <= now) {
      await lapseUnconfirmed(trx, registration.id)
      return { outcome: 'lapsed', offered: false }
    }
    await trx.updateTable('registrations').set({ waitlist_confirmed_at: now, updated_at: now }).where('id', '=', registration.id).execute()
    await offerFreedPlaces(trx, registration.event_id)
    const after = await trx.selectFrom('registrations').select('status').where('id', '=', registration.id).executeTakeFirstOrThrow()
    return { outcome: 'confirmed', offered: after.status === 'offered' }
  })
}

async function lapseUnconfirmed(trx: Trx, registrationId: string) {
  await trx
    .updateTable('registrations')
    .set({ status: 'expired', updated_at: new Date() })
    .where('id', '=', registrationId)
    .where('status', '=', 'waitlisted')
    .where('waitlist_confirmed_at', 'is', null)
    .execute()
}

/** The job at a new entry's deadline: an entry nobody confirmed lapses (it held no places). */
export async function expireUnconfirmedWaitlistEntry(db: Database, registrationId: string, now = new Date()) {
  return db.transaction().execute(async (trx) => {
    const registration = await trx
      .selectFrom('registrations')
      .select(['id', 'status', 'waitlisted_at', 'waitlist_confirmed_at'])
      .where('id', '=', registrationId)
      .forUpdate()
      .executeTakeFirst()
    if (registration?.status !== 'waitlisted' || registration.waitlist_confirmed_at || !registration.waitlisted_at) return false
    if (waitlistConfirmDeadline(registration.waitlisted_at) > now) return false
    await lapseUnconfirmed(trx, registration.id)
    return true
  })
}
