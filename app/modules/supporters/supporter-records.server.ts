import { sql } from 'kysely'
import { emailTemplates, isEmailTemplateName, parseEmailProps } from '#emails/index.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

/**
 * What we hold about one supporter, for staff answering a request to see it (export)
 * (docs/decisions/011-supporter-export-and-erasure.md). A supporter is found by email, and "what
 * we hold" is everything linked to their supporters row plus every row that carries the address
 * itself (a registration, an email, a saved-events link), because some of those exist without a
 * supporters row or were made under another one.
 */

type Db = Database | DatabaseTransaction


/** Everything held about one address, each kind typed by the query that reads it. */
export type SupporterRecords = Awaited<ReturnType<typeof findSupporterRecords>>

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
function withoutSecrets<R extends object, K extends keyof R>(row: R, ...columns: K[]): Omit<R, K> {
  const copy = { ...row }
  for (const column of columns) delete copy[column]
  return copy
}

export async function findSupporterRecords(db: Db, rawEmail: string) {
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
  await recordAudit(db, { staffUserId, action: 'supporter.export', subjectType: 'supporter', subjectId: records.supporter?.id ?? null, details: { found: holdsAnything(records), counts: recordCounts(records) } })
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
  await recordAudit(db, { staffUserId, action: 'supporter.lookup', subjectType: 'supporter', subjectId: records.supporter?.id ?? null, details: { found: holdsAnything(records) } })
  return records
}
