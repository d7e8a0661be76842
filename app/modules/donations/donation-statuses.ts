import type { DonationStatus } from '#db/schema.ts'

/**
 * The statuses staff can filter donations by. Kept out of staff-donations.server.ts because the
 * donations page renders them in the browser too, where a .server module is empty.
 */
export const DONATION_STATUSES = ['pending', 'processing', 'confirmed', 'failed', 'abandoned'] as const satisfies readonly DonationStatus[]

/**
 * What the donations list and its CSV show unless staff ask for more: gifts (paid, or a bank
 * payment on its way), not checkouts that were declined, abandoned or never finished.
 */
export const GIFT_STATUSES = ['processing', 'confirmed'] as const satisfies readonly DonationStatus[]

/** The status filter's choice that shows every donation row, unfinished checkouts included. */
export const ALL_STATUSES = 'all'

/** Each status in words staff use, for the list, its filter and a donation's page. */
export const DONATION_STATUS_NAMES: Record<DonationStatus, string> = {
  pending: 'Checkout not finished',
  processing: 'Payment on its way',
  confirmed: 'Confirmed',
  failed: 'Declined',
  abandoned: 'Abandoned checkout',
}
