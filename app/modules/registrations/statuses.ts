import type { RegistrationStatus } from '#db/schema.ts'

/**
 * A registration that still holds or awaits a place: it counts against capacity or the waitlist,
 * an address may have only one at a time per event, and it is told when the event changes.
 */
export const LIVE_REGISTRATION_STATUSES = ['held', 'confirmed', 'waitlisted', 'offered'] as const satisfies readonly RegistrationStatus[]
export type LiveRegistrationStatus = (typeof LIVE_REGISTRATION_STATUSES)[number]

/** Each registration status in words staff use. */
export const REGISTRATION_STATUS_NAMES: Record<RegistrationStatus, string> = {
  held: 'Place held while paying',
  confirmed: 'Confirmed',
  waitlisted: 'On the waitlist',
  offered: 'Offered a freed place',
  cancelled: 'Cancelled',
  expired: 'Offer or hold lapsed',
  refunded: 'Refunded',
}
