import { sql } from 'kysely'
import { escapeLike, type Database, type DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { storedRateLimitKey } from '#app/utils/rate-limit.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { type SupporterRecords, findSupporterRecords, holdsAnything } from '#app/modules/supporters/supporter-records.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { GIFT_AID_KEEP_YEARS } from '#app/modules/donations/gift-aid.ts'

/**
 * Forgetting a supporter on request (docs/decisions/011-supporter-export-and-erasure.md): every
 * piece of personal data held about an address is removed or blanked in one transaction, except
 * what the law makes us keep (Gift Aid declarations) and never while money or a place is moving.
 */

type Db = Database | DatabaseTransaction

/** Registrations need a unique, undeliverable address once erased (`.invalid` never resolves). */
export const ERASED_EMAIL_DOMAIN = 'erased.invalid'
export const ERASED_NAME = 'Erased'
const erasedAddress = (id: string) => `erased-${id}@${ERASED_EMAIL_DOMAIN}`
/** Outbox rows keep their history (template, dates, status) but not who they went to. */
export const ERASED_OUTBOX_ADDRESS = `erased@${ERASED_EMAIL_DOMAIN}`


/**
 * A Stripe Checkout Session lives at most 24 hours: a pending donation younger than that can
 * still be paid, and erasing it would leave the payment with nobody to send a receipt to.
 */
const CHECKOUT_IN_FLIGHT_HOURS = 24


export type ErasureBlocker = { kind: 'monthly-gift' | 'payment-in-flight' | 'place-in-flight'; message: string }

export type EraseResult =
  | { ok: true; supporterId: string | null; counts: Record<string, number>; giftAidKeptUntil: string | null }
  | { ok: false; reason: 'not-found' }
  | { ok: false; reason: 'blocked'; blockers: ErasureBlocker[] }

/**
 * What stops an erasure: money or a place still moving. Erasing then would leave Stripe charging,
 * or a payment arriving, for a person we could no longer name or send a receipt to.
 */
export function erasureBlockers(records: SupporterRecords, now = new Date()): ErasureBlocker[] {
  const blockers: ErasureBlocker[] = []
  const inFlightSince = now.getTime() - CHECKOUT_IN_FLIGHT_HOURS * 60 * 60 * 1000
  const recent = (row: { created_at: Date }) => row.created_at.getTime() > inFlightSince
  const livePlans = records.recurringPlans.filter((plan) => plan.status === 'active' || plan.status === 'past_due' || (plan.status === 'pending' && recent(plan)))
  if (livePlans.length > 0) {
    blockers.push({
      kind: 'monthly-gift',
      message: `They have ${livePlans.length === 1 ? 'a monthly gift' : `${livePlans.length} monthly gifts`} still running or being set up. Stop ${livePlans.length === 1 ? 'it' : 'them'} first (from the donation’s page), then erase.`,
    })
  }
  const payments = records.donations.filter((row) => row.status === 'processing' || (row.status === 'pending' && recent(row)))
  if (payments.length > 0) {
    blockers.push({
      kind: 'payment-in-flight',
      message: `A payment is still being made or checked (${payments.length}). Try again once it has succeeded or failed, at most a day from when it started.`,
    })
  }
  const places = records.registrations.filter((row) => row.status === 'held' || row.status === 'offered')
  if (places.length > 0) {
    blockers.push({
      kind: 'place-in-flight',
      message: `An event place is held for them while they pay or decide (${places.length}). Try again once the hold or offer has ended.`,
    })
  }
  return blockers
}

/** Escapes text for a PostgreSQL regular expression. */
const regexLiteral = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')

/**
 * Removes or blanks every piece of personal data held about the person with this address, in one
 * transaction that locks their rows first. Amounts, statuses, the ledger and the donor counts are
 * left exactly as they were, so no total changes. Staff check this is right (admin only) and
 * confirm before it runs.
 */
export async function eraseSupporter(db: Database, staffUserId: string, rawEmail: string, now = new Date()): Promise<EraseResult> {
  const email = normaliseEmail(rawEmail)
  const result = await db.transaction().execute(async (trx): Promise<EraseResult> => {
    // Locks in a fixed order (supporter, plans, donations, declarations, registrations) so two
    // erasures, or an erasure and a webhook, wait for each other instead of deadlocking.
    const supporter = await trx.selectFrom('supporters').select('id').where(sql<boolean>`lower(email) = ${email}`).forUpdate().executeTakeFirst()
    const supporterId = supporter?.id ?? '00000000-0000-0000-0000-000000000000'
    await trx.selectFrom('recurring_plans').select('id').where('supporter_id', '=', supporterId).forUpdate().execute()
    await trx
      .selectFrom('donations')
      .select('id')
      .where((eb) => eb.or([eb('supporter_id', '=', supporterId), eb(sql<string>`lower(donor_email)`, '=', email)]))
      .forUpdate()
      .execute()
    await trx.selectFrom('gift_aid_declarations').select('id').where('supporter_id', '=', supporterId).forUpdate().execute()
    await trx
      .selectFrom('registrations')
      .select('id')
      .where((eb) => eb.or([eb('supporter_id', '=', supporterId), eb(sql<string>`lower(email)`, '=', email)]))
      .forUpdate()
      .execute()

    const records = await findSupporterRecords(trx, email)
    if (!holdsAnything(records)) return { ok: false, reason: 'not-found' }
    const blockers = erasureBlockers(records, now)
    if (blockers.length > 0) return { ok: false, reason: 'blocked', blockers }

    const counts: Record<string, number> = {}
    const count = (name: string, result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }[]) => {
      counts[name] = result.reduce((sum, row) => sum + Number(row.numUpdatedRows ?? row.numDeletedRows ?? 0n), 0)
    }

    const donationIds = records.donations.map((row) => row.id)
    const registrationIds = records.registrations.map((row) => row.id)
    const planIds = records.recurringPlans.map((row) => row.id)
    const saverIds = records.savers.map((row) => row.id)
    const outboxIds = records.emails.map((row) => row.id)

    if (supporter) {
      count('supporters', await trx.updateTable('supporters').set({ email: null, name: null, erased_at: now, updated_at: now }).where('id', '=', supporter.id).execute())
    }
    if (donationIds.length > 0) {
      // Amounts, statuses and Stripe's payment ids stay: the ledger and refunds need them.
      count(
        'donations',
        await trx
          .updateTable('donations')
          .set({ donor_name: null, donor_email: null, message: null, show_name: false, show_message: false, updates_opt_in: false, stripe_customer_id: null, updated_at: now })
          .where('id', 'in', donationIds)
          .execute(),
      )
      // Stripe details kept for a payment not yet matched may carry billing names and addresses.
      const paymentIntents = records.donations.flatMap((row) => (row.stripe_payment_intent_id ? [row.stripe_payment_intent_id] : []))
      const registrationIntents = records.registrations.flatMap((row) => (row.stripe_payment_intent_id ? [row.stripe_payment_intent_id] : []))
      const intents = [...paymentIntents, ...registrationIntents]
      if (intents.length > 0) count('deferredStripeEvents', await trx.deleteFrom('stripe_inbox').where('state', '=', 'waiting').where('waits_for', 'in', intents).execute())
    }
    if (planIds.length > 0) {
      count('recurringPlans', await trx.updateTable('recurring_plans').set({ stripe_customer_id: null, updated_at: now }).where('id', 'in', planIds).execute())
    }

    let giftAidKeptUntil: Date | null = null
    for (const declaration of records.giftAidDeclarations) {
      const keepUntil = await giftAidKeepUntil(trx, declaration.id)
      if (keepUntil && keepUntil > now) {
        // HMRC's minimum: the name, house and postcode a claim lists, and the words declared.
        await trx.updateTable('gift_aid_declarations').set({ address: '' }).where('id', '=', declaration.id).execute()
        if (!giftAidKeptUntil || keepUntil > giftAidKeptUntil) giftAidKeptUntil = keepUntil
        counts.giftAidDeclarationsKept = (counts.giftAidDeclarationsKept ?? 0) + 1
      } else {
        await blankDeclaration(trx, declaration.id)
        counts.giftAidDeclarationsErased = (counts.giftAidDeclarationsErased ?? 0) + 1
      }
    }

    for (const id of registrationIds) {
      await trx
        .updateTable('registrations')
        .set({ name: ERASED_NAME, email: erasedAddress(id), access_needs: null, checkin_token: null, client_key: null, updated_at: now })
        .where('id', '=', id)
        .execute()
      // A place for an event still to come stays taken; its reminder must not go anywhere.
      await trx.insertInto('email_suppressions').values({ email: erasedAddress(id), reason: 'manual' }).onConflict((oc) => oc.column('email').doNothing()).execute()
    }
    counts.registrations = registrationIds.length

    if (saverIds.length > 0) {
      count('savers', await trx.updateTable('savers').set({ supporter_id: null, alerts_reminder: false, alerts_few_places: false }).where('id', 'in', saverIds).execute())
    }
    count(
      'saverLinks',
      await trx
        .deleteFrom('saver_links')
        .where((eb) => eb.or([eb(sql<string>`lower(email)`, '=', email), ...(saverIds.length ? [eb('saver_id', 'in', saverIds)] : [])]))
        .execute(),
    )
    if (outboxIds.length > 0) {
      count('devMailbox', await trx.deleteFrom('dev_mailbox').where((eb) => eb.or([eb('outbox_id', 'in', outboxIds), eb(sql<string>`lower(to_address)`, '=', email)])).execute())
      count(
        'emails',
        await trx
          .updateTable('email_outbox')
          .set({
            to_address: ERASED_OUTBOX_ADDRESS,
            props: '{}',
            attachments: '[]',
            last_error: sql<string>`case when status in ('queued', 'sending', 'failed') then 'Not sent: the supporter was erased' else null end`,
            // An email not yet delivered never will be: there is nobody left to send it to.
            status: sql`case when status in ('queued', 'sending', 'failed') then 'suppressed' else status end`,
            updated_at: now,
          })
          .where('id', 'in', outboxIds)
          .execute(),
      )
    } else {
      count('devMailbox', await trx.deleteFrom('dev_mailbox').where(sql<boolean>`lower(to_address) = ${email}`).execute())
    }
    count('emailSuppressions', await trx.deleteFrom('email_suppressions').where('email', '=', email).execute())
    // With RATE_LIMIT_STORE=postgres, the saved-events link limit counts per address for an hour.
    const rateLimits = await sql<{ present: boolean }>`select to_regclass('rate_limits') is not null as present`.execute(trx)
    if (rateLimits.rows[0]?.present) {
      counts.rateLimits = Number((await sql`delete from rate_limits where key = ${storedRateLimitKey('saver-link-email', email)}`.execute(trx)).numAffectedRows ?? 0n)
    }

    // Free-text history (a staff export's search words, a Stripe event's detail) may quote the
    // address; it is replaced where it appears, and the entry itself stays.
    const pattern = regexLiteral(email)
    count(
      'auditLogMentions',
      await trx
        .updateTable('audit_log')
        .set({ details: sql`regexp_replace(details::text, ${pattern}, '[erased]', 'gi')::jsonb` })
        .where(sql<boolean>`details::text ilike ${`%${escapeLike(email)}%`}`)
        .execute(),
    )
    if (donationIds.length > 0) {
      count(
        'donationEventMentions',
        await trx
          .updateTable('donation_events')
          .set({ detail: sql`regexp_replace(detail::text, ${pattern}, '[erased]', 'gi')::jsonb` })
          .where('donation_id', 'in', donationIds)
          .where(sql<boolean>`detail::text ilike ${`%${escapeLike(email)}%`}`)
          .execute(),
      )
    }

    await recordAudit(trx, { staffUserId, action: 'supporter.erased', subjectType: 'supporter', subjectId: supporter?.id ?? null, details: {
      counts,
      giftAidKeptUntil: giftAidKeptUntil?.toISOString() ?? null,
    } })
    return { ok: true, supporterId: supporter?.id ?? null, counts, giftAidKeptUntil: giftAidKeptUntil?.toISOString() ?? null }
  })
  if (result.ok) getLogger().info({ supporterId: result.supporterId, counts: result.counts }, 'Supporter erased')
  return result
}

/** When HMRC no longer needs a declaration: seven years after the last confirmed gift it covered; null if it covered none. */
async function giftAidKeepUntil(db: Db, declarationId: string): Promise<Date | null> {
  const row = await db
    .selectFrom('donations')
    .select(sql<Date | null>`max(confirmed_at) + make_interval(years => ${GIFT_AID_KEEP_YEARS})`.as('keep_until'))
    .where('gift_aid_declaration_id', '=', declarationId)
    .where('status', '=', 'confirmed')
    .executeTakeFirst()
  return row?.keep_until ? new Date(row.keep_until) : null
}

/** The row stays (donations point at it, and it says a declaration was made); nothing in it names anyone. */
async function blankDeclaration(db: Db, declarationId: string) {
  await db
    .updateTable('gift_aid_declarations')
    .set({ full_name: '', house_name_or_number: '', address: '', postcode: '' })
    .where('id', '=', declarationId)
    .execute()
}
