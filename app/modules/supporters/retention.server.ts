import { sql } from 'kysely'
import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { ERASED_NAME, ERASED_EMAIL_DOMAIN, ERASED_OUTBOX_ADDRESS } from '#app/modules/supporters/erasure.server.ts'
import { GIFT_AID_KEEP_YEARS } from '#app/modules/donations/gift-aid.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'

/** Retention: the nightly job that forgets checkouts that never completed (ADR 011). */

export const PURGE_ABANDONED_CHECKOUTS_TASK = 'purge_abandoned_checkouts'

const NEVER_COMPLETED_DONATION = ['pending', 'failed', 'abandoned'] as const

/**
 * Forgets the personal data of checkouts that never completed, `days` after they started:
 * donations never paid (pending, failed, abandoned), registrations whose hold or offer ran out,
 * the Gift Aid declarations made only for those, saved-events links never opened, and the
 * supporters row and emails of anyone who has nothing else with us. Confirmed gifts and places,
 * and everyone's amounts, are never touched. Also finishes erasures whose Gift Aid declarations
 * HMRC no longer needs. Each step changes only rows not yet purged, so running it again does
 * nothing.
 */
export async function purgeAbandonedCheckouts(db: Database, options: { days: number; now?: Date }) {
  const now = options.now ?? new Date()
  const cutoff = new Date(now.getTime() - options.days * 24 * 60 * 60 * 1000)
  const counts = await db.transaction().execute(async (trx) => {
    const neverCompleted = sql<boolean>`d.status in ('pending', 'failed', 'abandoned') and d.created_at < ${cutoff}`
    const purgeableRegistration = sql<boolean>`(
      (r.status = 'expired' and r.confirmed_at is null) or (r.status = 'held' and r.hold_expires_at < ${cutoff})
    ) and r.updated_at < ${cutoff}`

    // Who has nothing else with us, read before anything changes: their address and row go too.
    const forgotten = await sql<{ id: string; email: string }>`
      select s.id, lower(s.email) as email from supporters s
      where s.email is not null and s.created_at < ${cutoff}
        and (exists (select 1 from donations d where d.supporter_id = s.id)
             or exists (select 1 from registrations r where r.supporter_id = s.id))
        and not exists (select 1 from donations d where d.supporter_id = s.id and not (${neverCompleted}))
        and not exists (select 1 from registrations r where r.supporter_id = s.id and not (${purgeableRegistration}))
        and not exists (select 1 from recurring_plans p where p.supporter_id = s.id and p.status not in ('pending', 'abandoned'))
        and not exists (select 1 from savers v where v.supporter_id = s.id)
      for update of s`.execute(trx)

    const donations = await trx
      .updateTable('donations as d')
      .set({ donor_name: null, donor_email: null, message: null, show_name: false, show_message: false, stripe_customer_id: null, updated_at: now })
      .where('d.status', 'in', [...NEVER_COMPLETED_DONATION])
      .where('d.created_at', '<', cutoff)
      .where((eb) => eb.or([eb('d.donor_name', 'is not', null), eb('d.donor_email', 'is not', null), eb('d.message', 'is not', null)]))
      .executeTakeFirst()

    const declarations = await sql`
      update gift_aid_declarations g set full_name = '', house_name_or_number = '', address = '', postcode = ''
      where g.full_name <> ''
        and exists (select 1 from donations d where d.gift_aid_declaration_id = g.id)
        and not exists (select 1 from donations d where d.gift_aid_declaration_id = g.id and not (${neverCompleted}))`.execute(trx)

    const registrations = await sql`
      update registrations r
      set name = ${ERASED_NAME}, email = 'erased-' || r.id || ${`@${ERASED_EMAIL_DOMAIN}`}, access_needs = null, checkin_token = null, updated_at = ${now}
      where ${purgeableRegistration} and r.email not like ${`%@${ERASED_EMAIL_DOMAIN}`}`.execute(trx)

    const saverLinks = await trx.deleteFrom('saver_links').where('expires_at', '<', cutoff).executeTakeFirst()

    let supporters = 0
    let emails = 0
    if (forgotten.rows.length > 0) {
      const ids = forgotten.rows.map((row) => row.id)
      const addresses = forgotten.rows.map((row) => row.email)
      supporters = Number((await trx.updateTable('supporters').set({ email: null, name: null, erased_at: now, updated_at: now }).where('id', 'in', ids).executeTakeFirst()).numUpdatedRows)
      const outbox = await trx
        .selectFrom('email_outbox')
        .select('id')
        .where(sql<boolean>`lower(to_address) = any(${addresses}::text[])`)
        .where('status', 'not in', ['queued', 'sending'])
        .execute()
      if (outbox.length > 0) {
        const outboxIds = outbox.map((row) => row.id)
        await trx.deleteFrom('dev_mailbox').where('outbox_id', 'in', outboxIds).execute()
        emails = Number(
          (await trx.updateTable('email_outbox').set({ to_address: ERASED_OUTBOX_ADDRESS, props: '{}', attachments: '[]', updated_at: now }).where('id', 'in', outboxIds).executeTakeFirst())
            .numUpdatedRows,
        )
      }
    }

    // Erased supporters' declarations kept for HMRC, once HMRC no longer needs them.
    const keptDeclarations = await sql`
      update gift_aid_declarations g set full_name = '', house_name_or_number = '', address = '', postcode = ''
      from supporters s
      where s.id = g.supporter_id and s.erased_at is not null and g.full_name <> ''
        and not exists (
          select 1 from donations d
          where d.gift_aid_declaration_id = g.id and d.status = 'confirmed'
            and d.confirmed_at + make_interval(years => ${GIFT_AID_KEEP_YEARS}) > ${now}
        )`.execute(trx)

    return {
      donations: Number(donations.numUpdatedRows),
      giftAidDeclarations: Number(declarations.numAffectedRows ?? 0n),
      registrations: Number(registrations.numAffectedRows ?? 0n),
      saverLinks: Number(saverLinks.numDeletedRows),
      supporters,
      emails,
      keptGiftAidDeclarationsEnded: Number(keptDeclarations.numAffectedRows ?? 0n),
    }
  })
  getLogger().info({ counts, days: options.days }, 'Purged abandoned checkouts')
  return counts
}

/**
 * Deletes the anonymous "Save this event" savers nobody uses any more, with their saves, saved-events
 * links and alert marks (all cascade): a saver made more than `days` ago, none of whose saves was
 * made since, none of which is for an event still to come or under way, with no link still open,
 * and no saver joined into it made since. A saver linked to an email (saves kept on several
 * devices) is kept while that email still has anything live: another of its savers in use, a
 * place at an event to come, or a monthly gift running. Each run deletes only what is stale then,
 * so running it again does nothing.
 */
export async function purgeUnusedSavers(db: Database, options: { days: number; now?: Date }) {
  const now = options.now ?? new Date()
  const cutoff = new Date(now.getTime() - options.days * 24 * 60 * 60 * 1000)
  const counts = await db.transaction().execute(async (trx) => {
    const inUse = (saver: ReturnType<typeof sql.ref>) => sql<boolean>`exists (
      select 1 from saved_events se join events e on e.id = se.event_id
      where se.saver_id = ${saver} and (se.created_at >= ${cutoff} or e.ends_at >= ${now}))`
    const stale = await sql<{ id: string }>`
      select v.id from savers v
      where v.created_at < ${cutoff}
        and not ${inUse(sql.ref('v.id'))}
        and not exists (select 1 from saver_links l where l.saver_id = v.id and l.expires_at >= ${now})
        and not exists (select 1 from savers m where m.merged_into_id = v.id and m.created_at >= ${cutoff})
        and (v.supporter_id is null or not (
          exists (select 1 from savers o where o.supporter_id = v.supporter_id and o.id <> v.id and (o.created_at >= ${cutoff} or ${inUse(sql.ref('o.id'))}))
          or exists (
            select 1 from registrations r join events e on e.id = r.event_id
            where r.supporter_id = v.supporter_id and r.status in (${sql.join([...LIVE_REGISTRATION_STATUSES])}) and e.ends_at >= ${now})
          or exists (select 1 from recurring_plans p where p.supporter_id = v.supporter_id and p.status in ('active', 'past_due'))
        ))
      for update of v skip locked`.execute(trx)
    if (stale.rows.length === 0) return { savers: 0, saves: 0 }
    const ids = stale.rows.map((row) => row.id)
    const saves = await trx.selectFrom('saved_events').select((eb) => eb.fn.countAll<string>().as('count')).where('saver_id', 'in', ids).executeTakeFirstOrThrow()
    const deleted = await trx.deleteFrom('savers').where('id', 'in', ids).executeTakeFirst()
    return { savers: Number(deleted.numDeletedRows), saves: Number(saves.count) }
  })
  getLogger().info({ counts, days: options.days }, 'Purged unused savers')
  return counts
}
