import { sql } from 'kysely'
import { z } from 'zod'
import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { minorToDecimal } from '#app/utils/money.ts'
import { pagedCsvStream, type CsvCell } from '#app/utils/csv.ts'
import { startOfNextDayInZone, startOfDayInZone } from '#app/utils/time-zone.server.ts'
import { EXPORT_PAGE_SIZE } from '#app/modules/donations/staff-donations.server.ts'
import { isoDateField } from '#app/utils/dates.ts'
import { GIFT_AID_TIME_ZONE } from '#app/modules/donations/gift-aid.ts'

/**
 * Gift Aid on the ledger: what can be claimed, and HMRC's Charities Online schedule as CSV. The
 * rules themselves (the declaration, who may claim, what it adds) are in gift-aid.ts.
 */

export const giftAidRangeSchema = z
  .object({ from: isoDateField(), to: isoDateField() })
  .refine((range) => range.from <= range.to, { message: 'The start date is after the end date', path: ['to'] })

/** The columns of HMRC's Charities Online Gift Aid schedule, in its order. */
export const GIFT_AID_CSV_HEADER = [
  'Title',
  'First name',
  'Last name',
  'House name or number',
  'Postcode',
  'Aggregated donations',
  'Sponsored event',
  'Donation date',
  'Amount',
] as const

/** "Mary Ann Smith" → ["Mary Ann", "Smith"]: the last word is the last name; one word is a last name only. */
export function splitFullName(fullName: string): { firstName: string; lastName: string } {
  const words = fullName.trim().split(/\s+/).filter(Boolean)
  if (words.length === 0) return { firstName: '', lastName: '' }
  return { firstName: words.slice(0, -1).join(' '), lastName: words[words.length - 1]! }
}

function giftAidPage(db: Database, range: { from: string; to: string }, after: { at: string; id: string } | null, limit: number) {
  let query = db
    .selectFrom('donations as d')
    .innerJoin('gift_aid_declarations as g', 'g.id', 'd.gift_aid_declaration_id')
    .select([
      'd.id',
      'd.amount_minor',
      'g.full_name',
      'g.house_name_or_number',
      'g.postcode',
      sql<string>`to_char(d.confirmed_at at time zone ${GIFT_AID_TIME_ZONE}, 'DD/MM/YY')`.as('donation_date'),
      sql<string>`to_char(d.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'),
    ])
    .where('d.status', '=', 'confirmed')
    .where('d.currency', '=', 'GBP')
    // Money given back, or held or lost in a dispute, was not a gift HMRC will add to.
    .where('d.refunded_minor', '=', 0)
    .where('d.disputed_minor', '=', 0)
    // A cancelled declaration still covers the gifts made before it was cancelled.
    .where((eb) => eb.or([eb('g.cancelled_at', 'is', null), eb('g.cancelled_at', '>', eb.ref('d.confirmed_at'))]))
    .where('d.confirmed_at', '>=', startOfDayInZone(range.from, GIFT_AID_TIME_ZONE))
    .where('d.confirmed_at', '<', startOfNextDayInZone(range.to, GIFT_AID_TIME_ZONE))
  if (after) query = query.where(sql<boolean>`(d.confirmed_at, d.id) > (${after.at}::timestamptz, ${after.id}::uuid)`)
  return query.orderBy('d.confirmed_at').orderBy('d.id').limit(limit).execute()
}

/** The schedule's rows, oldest gift first, streamed like the donations export. */
export function giftAidCsvStream(db: Database, range: { from: string; to: string }, pageSize = EXPORT_PAGE_SIZE) {
  type Row = Awaited<ReturnType<typeof giftAidPage>>[number]
  return pagedCsvStream<Row>({
    header: GIFT_AID_CSV_HEADER,
    pageSize,
    nextPage: (last) => giftAidPage(db, range, last ? { at: last.cursor_at, id: last.id } : null, pageSize),
    toCells: (row): CsvCell[] => {
      const { firstName, lastName } = splitFullName(row.full_name)
      return [
        '',
        firstName,
        lastName,
        row.house_name_or_number.trim(),
        row.postcode.trim().toUpperCase(),
        '',
        '',
        row.donation_date,
        minorToDecimal(row.amount_minor, 'GBP'),
      ]
    },
    onError: (error) => getLogger().error({ err: error }, 'Gift Aid export failed part-way'),
  })
}
