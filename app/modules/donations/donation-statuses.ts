import type { DonationStatus } from '#db/schema.ts'

/**
 * The statuses staff can filter donations by. Kept out of staff-donations.server.ts because the
 * donations page renders them in the browser too, where a .server module is empty.
 */
export const DONATION_STATUSES = ['pending', 'processing', 'confirmed', 'failed', 'abandoned'] as const satisfies readonly DonationStatus[]
