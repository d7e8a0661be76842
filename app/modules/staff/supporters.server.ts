import { sql } from 'kysely'
import { z } from 'zod'
import { emailTemplates, isEmailTemplateName, parseEmailProps } from '#emails/index.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { storedRateLimitKey } from '#app/utils/rate-limit.server.ts'

/**
 * What we hold about one supporter, for staff answering a request to see it (export) or to be
 * forgotten (erase), and the retention purge of checkouts that never completed
 * (docs/decisions/011-supporter-export-and-erasure.md).
 *
 * A supporter is found by email, and "what we hold" is everything linked to their supporters row
 * plus every row that carries the address itself (a registration, an email, a saved-events link),
 * because some of those exist without a supporters row or were made under another one.
 */

type Db = Database | DatabaseTransaction

/** The address the form takes: trimmed, compared case-insensitively everywhere. */
export const supporterEmailSchema = z
  .string({ required_error: 'Enter the supporter’s email address' })
  .trim()
  .min(1, 'Enter the supporter’s email address')
  .max(254, 'The email address must be 254 characters or fewer')
  .email('Enter the email address in the right format, like name@example.org')

export function normaliseEmail(email: string) {
  return email.trim().toLowerCase()
}

/** Registrations need a unique, undeliverable address once erased (`.invalid` never resolves). */
export const ERASED_EMAIL_DOMAIN = 'erased.invalid'
export const ERASED_NAME = 'Erased'
const erasedAddress = (id: string) => `erased-${id}@${ERASED_EMAIL_DOMAIN}`
/** Outbox rows keep their history (template, dates, status) but not who they went to. */
const ERASED_OUTBOX_ADDRESS = `erased@${ERASED_EMAIL_DOMAIN}`

/**
 * HMRC asks a charity to keep a Gift Aid declaration for six years after the end of the
 * accounting period of the last gift it covered. We do not know the organisation's accounting
 * period, so we keep it seven years after that gift: always long enough.
 */
export const GIFT_AID_KEEP_YEARS = 7

/**
 * A Stripe Checkout Session lives at most 24 hours: a pending donation younger than that can
 * still be paid, and erasing it would leave the payment with nobody to send a receipt to.
 */
const CHECKOUT_IN_FLIGHT_HOURS = 24

/* ----------------------------------------------------------------------------------------------
 * Finding and exporting
 * -------------------------------------------------------------------------------------------- */

type Row = Record<string, unknown>

export type SupporterRecords = {
  email: string
  supporter: (Row & { id: string }) | null
  donations: Row[]
  donationEvents: Row[]
  ledgerEntries: Row[]
  recurringPlans: Row[]
  giftAidDeclarations: Row[]
  registrations: Row[]
  savers: Row[]
  savedEvents: Row[]
  saverLinks: Row[]
  emails: Row[]
  devMailbox: Row[]
  emailSuppressions: Row[]
  appealsCountedAsDonor: Row[]
  currenciesCountedAsDonor: Row[]
  staffActivity: Row[]
}

export type SupporterRecordKind = Exclude<keyof SupporterRecords, 'email' | 'supporter'>

/** Every kind of record, in the order the page and the export list them, with a label for staff. */
export const RECORD_KINDS: { kind: SupporterRecordKind; label: string }[] = [
  { kind: 'donations', label: 'Donations' },
  { kind: 'donationEvents', label: 'Donation history entries' },
  { kind: 'ledgerEntries', label: 'Ledger entries (money moved)' },
  { kind: 'recurringPlans', label: 'Monthly gifts' },
  { kind: 'giftAidDeclarations', label: 'Gift Aid declarations' },
  { kind: 'registrations', label: 'Event registrations' },
  { kind: 'savers', label: 'Saved-events lists' },
  { kind: 'savedEvents', label: 'Saved events' },
  { kind: 'saverLinks', label: 'Saved-events links not yet opened' },
  { kind: 'emails', label: 'Emails sent or queued to them' },
  { kind: 'devMailbox', label: 'Development mailbox copies' },
  { kind: 'emailSuppressions', label: 'Email suppressions (bounces, complaints)' },
  { kind: 'appealsCountedAsDonor', label: 'Appeals counting them as a donor' },
  { kind: 'currenciesCountedAsDonor', label: 'Organisation donor counts' },
  { kind: 'staffActivity', label: 'Staff actions on this record' },
]

/** Secrets are credentials, not data about the person; they never leave in an export. */
const withoutSecrets = (row: Row, ...columns: string[]) => {
  const copy = { ...row }
  for (const column of columns) delete copy[column]
  return copy
}

export async function findSupporterRecords(db: Db, rawEmail: string): Promise<SupporterRecords> {
  const email = normaliseEmail(rawEmail)
  const supporter = (await db.selectFrom('supporters').selectAll().where(sql<boolean>`lower(email) = ${email}`).executeTakeFirst()) ?? null
  // A uuid that matches nothing keeps every query below one shape, with or without a supporter.
  const supporterId = supporter?.id ?? '00000000-0000-0000-0000-000000000000'

  const donations = await db
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .selectAll('d')
    .select(['a.title as appeal_title', 'a.slug as appeal_slug'])
    .where((eb) => eb.or([eb('d.supporter_id', '=', supporterId), eb(sql<string>`lower(d.donor_email)`, '=', email)]))
    .orderBy('d.created_at')
    .orderBy('d.id')
    .execute()
  const donationIds = donations.map((donation) => donation.id)
  const [donationEvents, ledgerEntries] =
    donationIds.length === 0
      ? [[], []]
      : await Promise.all([
          db.selectFrom('donation_events').selectAll().where('donation_id', 'in', donationIds).orderBy('id').execute(),
          db.selectFrom('ledger_entries').selectAll().where('donation_id', 'in', donationIds).orderBy('id').execute(),
        ])
  const recurringPlans = await db
    .selectFrom('recurring_plans')
    .selectAll()
    .where((eb) => eb.or([eb('supporter_id', '=', supporterId), ...(donationIds.length ? [eb('id', 'in', db.selectFrom('donations').select('recurring_plan_id').where('id', 'in', donationIds))] : [])]))
    .orderBy('created_at')
    .execute()
  const declarationIds = donations.flatMap((donation) => (donation.gift_aid_declaration_id ? [donation.gift_aid_declaration_id] : []))
  const giftAidDeclarations = await db
    .selectFrom('gift_aid_declarations')
    .selectAll()
    .where((eb) => eb.or([eb('supporter_id', '=', supporterId), ...(declarationIds.length ? [eb('id', 'in', declarationIds)] : [])]))
    .orderBy('declared_at')
    .execute()
  const registrations = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .selectAll('r')
    .select(['e.title as event_title', 'e.starts_at as event_starts_at', 't.name as ticket_name'])
    .where((eb) => eb.or([eb('r.supporter_id', '=', supporterId), eb(sql<string>`lower(r.email)`, '=', email)]))
    .orderBy('r.created_at')
    .execute()
  const savers = await db.selectFrom('savers').selectAll().where('supporter_id', '=', supporterId).orderBy('created_at').execute()
  const saverIds = savers.map((saver) => saver.id)
  const savedEvents =
    saverIds.length === 0
      ? []
      : await db
          .selectFrom('saved_events as s')
          .innerJoin('events as e', 'e.id', 's.event_id')
          .selectAll('s')
          .select(['e.title as event_title', 'e.starts_at as event_starts_at'])
          .where('s.saver_id', 'in', saverIds)
          .orderBy('s.created_at')
          .execute()
  const saverLinks = await db
    .selectFrom('saver_links')
    .selectAll()
    .where((eb) => eb.or([eb(sql<string>`lower(email)`, '=', email), ...(saverIds.length ? [eb('saver_id', 'in', saverIds)] : [])]))
    .orderBy('created_at')
    .execute()
  const outbox = await db
    .selectFrom('email_outbox')
    .select(['id', 'template', 'to_address', 'props', 'status', 'attempts', 'last_error', 'created_at', 'sent_at', 'delivered_at', 'updated_at'])
    .where(sql<boolean>`lower(to_address) = ${email}`)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  // Subjects, not bodies: a body is the template filled with the same facts listed elsewhere here.
  const emails = outbox.map(({ props, ...row }) => ({ ...row, subject: subjectOf(row.template, props) }))
  const devMailbox = await db
    .selectFrom('dev_mailbox')
    .select(['id', 'outbox_id', 'to_address', 'subject', 'created_at'])
    .where(sql<boolean>`lower(to_address) = ${email}`)
    .orderBy('created_at')
    .execute()
  const emailSuppressions = await db.selectFrom('email_suppressions').selectAll().where('email', '=', email).execute()
  const appealsCountedAsDonor = await db
    .selectFrom('appeal_donors as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .selectAll('d')
    .select('a.title as appeal_title')
    .where('d.supporter_id', '=', supporterId)
    .execute()
  const currenciesCountedAsDonor = await db.selectFrom('organisation_donors').selectAll().where('supporter_id', '=', supporterId).execute()
  const staffActivity = await db
    .selectFrom('audit_log')
    .select(['id', 'action', 'created_at', 'details'])
    .where('subject_type', '=', 'supporter')
    .where('subject_id', '=', supporterId)
    .orderBy('id')
    .execute()

  return {
    email,
    supporter,
    donations,
    donationEvents,
    ledgerEntries,
    recurringPlans,
    giftAidDeclarations,
    registrations: registrations.map((row) => withoutSecrets(row, 'checkin_token')),
    savers,
    savedEvents,
    saverLinks: saverLinks.map((row) => withoutSecrets(row, 'token_hash')),
    emails,
    devMailbox,
    emailSuppressions,
    appealsCountedAsDonor,
    currenciesCountedAsDonor,
    staffActivity,
  }
}

function subjectOf(template: string, props: unknown): string | null {
  if (!isEmailTemplateName(template)) return null
  try {
    const parsed = parseEmailProps(template, props)
    return (emailTemplates[template].subject as (props: unknown) => string)(parsed)
  } catch {
    // Props already erased, or from an older template version: the template name still says what it was.
    return null
  }
}

export function holdsAnything(records: SupporterRecords) {
  return records.supporter !== null || RECORD_KINDS.some(({ kind }) => records[kind].length > 0)
}

export function recordCounts(records: SupporterRecords): Record<SupporterRecordKind, number> {
  return Object.fromEntries(RECORD_KINDS.map(({ kind }) => [kind, records[kind].length])) as Record<SupporterRecordKind, number>
}

/** The consents and choices they gave, gathered from where each is kept. */
function consentsOf(records: SupporterRecords) {
  return {
    donations: records.donations.map((row) => ({
      donationId: row.id,
      appeal: row.appeal_title,
      showName: row.show_name,
      showAmount: row.show_amount,
      showMessage: row.show_message,
      appealUpdates: row.updates_opt_in,
      giftAid: row.gift_aid_declaration_id !== null,
    })),
    registrations: records.registrations.map((row) => ({ registrationId: row.id, event: row.event_title, privacyConsentAt: row.privacy_consent_at })),
    savedEventAlerts: records.savers.map((row) => ({ saverId: row.id, reminder: row.alerts_reminder, fewPlaces: row.alerts_few_places })),
  }
}

/**
 * Everything held, as one JSON document, and an audit entry naming the supporter by id (never by
 * address: the audit log outlives an erasure). The entry is written before the file is returned.
 */
export async function exportSupporter(db: Database, staffUserId: string, rawEmail: string, at = new Date()) {
  const records = await findSupporterRecords(db, rawEmail)
  await auditSupporter(db, staffUserId, 'supporter.export', records.supporter?.id ?? null, { found: holdsAnything(records), counts: recordCounts(records) })
  const document = {
    exportedAt: at.toISOString(),
    about: 'Everything Sanad holds about one supporter, found by their email address.',
    email: records.email,
    supporter: records.supporter,
    consents: consentsOf(records),
    ...Object.fromEntries(RECORD_KINDS.map(({ kind }) => [kind, records[kind]])),
  }
  const name = records.supporter?.id ?? 'no-supporter-record'
  return { json: JSON.stringify(document, null, 2), filename: `supporter-${name}-${at.toISOString().slice(0, 10)}.json` }
}

/** Looking someone up shows their data on screen: that is access too, and recorded as such. */
export async function lookUpSupporter(db: Database, staffUserId: string, rawEmail: string) {
  const records = await findSupporterRecords(db, rawEmail)
  await auditSupporter(db, staffUserId, 'supporter.lookup', records.supporter?.id ?? null, { found: holdsAnything(records) })
  return records
}

async function auditSupporter(db: Db, staffUserId: string, action: string, supporterId: string | null, details: Record<string, unknown>) {
  await db
    .insertInto('audit_log')
    .values({ staff_user_id: staffUserId, action, subject_type: 'supporter', subject_id: supporterId, details: JSON.stringify(details) })
    .execute()
}

/* ----------------------------------------------------------------------------------------------
 * Erasing
 * -------------------------------------------------------------------------------------------- */

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
  const recent = (row: Row) => (row.created_at as Date).getTime() > inFlightSince
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

    const donationIds = records.donations.map((row) => row.id as string)
    const registrationIds = records.registrations.map((row) => row.id as string)
    const planIds = records.recurringPlans.map((row) => row.id as string)
    const saverIds = records.savers.map((row) => row.id as string)
    const outboxIds = records.emails.map((row) => row.id as string)

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
      const paymentIntents = records.donations.flatMap((row) => (row.stripe_payment_intent_id ? [row.stripe_payment_intent_id as string] : []))
      const registrationIntents = records.registrations.flatMap((row) => (row.stripe_payment_intent_id ? [row.stripe_payment_intent_id as string] : []))
      const intents = [...paymentIntents, ...registrationIntents]
      if (intents.length > 0) count('deferredStripeEvents', await trx.deleteFrom('deferred_stripe_events').where('payment_intent_id', 'in', intents).execute())
    }
    if (planIds.length > 0) {
      count('recurringPlans', await trx.updateTable('recurring_plans').set({ stripe_customer_id: null, updated_at: now }).where('id', 'in', planIds).execute())
    }

    let giftAidKeptUntil: Date | null = null
    for (const declaration of records.giftAidDeclarations) {
      const keepUntil = await giftAidKeepUntil(trx, declaration.id as string)
      if (keepUntil && keepUntil > now) {
        // HMRC's minimum: the name, house and postcode a claim lists, and the words declared.
        await trx.updateTable('gift_aid_declarations').set({ address: '' }).where('id', '=', declaration.id as string).execute()
        if (!giftAidKeptUntil || keepUntil > giftAidKeptUntil) giftAidKeptUntil = keepUntil
        counts.giftAidDeclarationsKept = (counts.giftAidDeclarationsKept ?? 0) + 1
      } else {
        await blankDeclaration(trx, declaration.id as string)
        counts.giftAidDeclarationsErased = (counts.giftAidDeclarationsErased ?? 0) + 1
      }
    }

    for (const id of registrationIds) {
      await trx
        .updateTable('registrations')
        .set({ name: ERASED_NAME, email: erasedAddress(id), access_needs: null, checkin_token: null, updated_at: now })
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
        .where(sql<boolean>`details::text ilike ${`%${email.replace(/[\\%_]/g, '\\$&')}%`}`)
        .execute(),
    )
    if (donationIds.length > 0) {
      count(
        'donationEventMentions',
        await trx
          .updateTable('donation_events')
          .set({ detail: sql`regexp_replace(detail::text, ${pattern}, '[erased]', 'gi')::jsonb` })
          .where('donation_id', 'in', donationIds)
          .where(sql<boolean>`detail::text ilike ${`%${email.replace(/[\\%_]/g, '\\$&')}%`}`)
          .execute(),
      )
    }

    await auditSupporter(trx, staffUserId, 'supporter.erased', supporter?.id ?? null, {
      counts,
      giftAidKeptUntil: giftAidKeptUntil?.toISOString() ?? null,
    })
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

/* ----------------------------------------------------------------------------------------------
 * Retention of checkouts that never completed
 * -------------------------------------------------------------------------------------------- */

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
