import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { minorToDecimal } from '#app/utils/money.ts'
import { pagedCsvStream, type CsvCell } from '#app/utils/csv.ts'
import { type DonationFilters, donationPage, EXPORT_PAGE_SIZE, type ListRow } from '#app/modules/donations/staff-donations.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { DONATION_STATUS_NAMES } from '#app/modules/donations/donation-statuses.ts'

/** The donations list as CSV, streamed a page at a time, with the same filters as the page. */

export const DONATIONS_CSV_HEADER = [
  'Date',
  'Donation ID',
  'Appeal',
  'Donor name',
  'Donor email',
  'Amount',
  'Fee covered',
  'Refunded',
  'Currency',
  'Status',
  'Frequency',
  'Gift Aid',
] as const

/** The filtered list as CSV, read a thousand rows at a time as the download is taken. */
export function donationsCsvStream(db: Database, filters: DonationFilters, pageSize = EXPORT_PAGE_SIZE): ReadableStream<Uint8Array> {
  return pagedCsvStream<ListRow>({
    header: DONATIONS_CSV_HEADER,
    pageSize,
    nextPage: (last) => donationPage(db, filters, last ? { at: last.cursor_at, id: last.id } : null, pageSize),
    toCells: (row): CsvCell[] => [
      row.created_at.toISOString(),
      row.id,
      row.appeal_title,
      row.donor_name,
      row.donor_email,
      minorToDecimal(row.amount_minor, row.currency),
      minorToDecimal(row.fee_cover_minor, row.currency),
      minorToDecimal(row.refunded_minor, row.currency),
      row.currency,
      DONATION_STATUS_NAMES[row.status],
      row.frequency === 'monthly' ? 'Monthly' : 'One-off',
      row.gift_aid ? 'Yes' : 'No',
    ],
    onError: (error) => getLogger().error({ err: error }, 'Donations export failed part-way'),
  })
}

/** An export names who took it and with which filters; the audit entry has no single subject. */
export async function auditExport(db: Database, staffUserId: string, action: string, details: Record<string, unknown>) {
  await recordAudit(db, { staffUserId, action, subjectType: null, subjectId: null, details })
}
