import type { TicketKind } from '#db/schema.ts'

/**
 * The registration form's plain values and helpers, for the form in the browser without the
 * schema: the schema (schema.ts) brings zod, which the page loads only when needed.
 */

export const ACCESS_NEEDS_MAX_CHARACTERS = 1000
export const ACCESS_NEEDS_HINT = 'Tell us anything that would help you take part'

export type RegistrationTicketType = {
  id: string
  kind: TicketKind
  priceMinor: number
  minPriceMinor: number
  currency: string
}

/** True when a ticket of this kind asks the person for money (a pay-what-you-can place may not). */
export function ticketNeedsPayment(ticket: Pick<RegistrationTicketType, 'kind' | 'priceMinor' | 'minPriceMinor'>) {
  if (ticket.kind === 'paid') return ticket.priceMinor > 0
  if (ticket.kind === 'pay_what_you_can') return ticket.minPriceMinor > 0
  return false
}
