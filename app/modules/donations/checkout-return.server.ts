import type { Database } from '#app/utils/db.server.ts'
import { CHECKOUT_RETURN_SECONDS } from '#app/utils/checkout-cookie.server.ts'
import type { DonationRequest } from './checkout-request.ts'

/** What a donor typed into the form, read back from their pending donation (ADR 024). */
export type ReturningDonation = Pick<
  DonationRequest,
  'frequency' | 'amountMinor' | 'coverFee' | 'name' | 'email' | 'message' | 'showName' | 'showAmount' | 'showMessage' | 'updatesOptIn'
> & {
  giftAid: null | { houseNameOrNumber: string; address: string; postcode: string }
}

/**
 * The form's values for a browser back from the payment page without paying: the donation its
 * checkout cookie names, only while it is still pending, only on the appeal it was for, and only
 * for `CHECKOUT_RETURN_SECONDS` after it was started. Anything else (a gift already paid, another
 * appeal's page, an old cookie) restores nothing.
 */
export async function getReturningDonation(
  db: Database,
  options: { submissionId: string; appealId: string; now?: Date },
): Promise<ReturningDonation | null> {
  const now = options.now ?? new Date()
  const row = await db
    .selectFrom('donations as d')
    .leftJoin('gift_aid_declarations as g', 'g.id', 'd.gift_aid_declaration_id')
    .select([
      'd.frequency',
      'd.amount_minor',
      'd.fee_cover_minor',
      'd.donor_name',
      'd.donor_email',
      'd.message',
      'd.show_name',
      'd.show_amount',
      'd.show_message',
      'd.updates_opt_in',
      'g.house_name_or_number',
      'g.address',
      'g.postcode',
    ])
    .where('d.checkout_submission_id', '=', options.submissionId)
    .where('d.appeal_id', '=', options.appealId)
    .where('d.status', '=', 'pending')
    .where('d.created_at', '>', new Date(now.getTime() - CHECKOUT_RETURN_SECONDS * 1000))
    .executeTakeFirst()
  if (!row || row.donor_name === null || row.donor_email === null) return null
  return {
    frequency: row.frequency,
    amountMinor: row.amount_minor,
    coverFee: row.fee_cover_minor > 0,
    name: row.donor_name,
    email: row.donor_email,
    message: row.message,
    showName: row.show_name,
    showAmount: row.show_amount,
    showMessage: row.show_message,
    updatesOptIn: row.updates_opt_in,
    giftAid:
      row.house_name_or_number !== null && row.address !== null && row.postcode !== null
        ? { houseNameOrNumber: row.house_name_or_number, address: row.address, postcode: row.postcode }
        : null,
  }
}
