import type { TicketKind } from '#db/schema.ts'
import { formatMoney, formatMoneyShort } from '#app/utils/money.ts'

/**
 * What tickets cost, in words: beside each ticket on the event page and in its form, and one line
 * for an event card ("Free", "£45", "From £5"). Amounts are integer minor units with their
 * currency, formatted by utils/money (so ¥1,500 and KWD 2.500 read right).
 */

export type TicketPrice = { name: string; kind: TicketKind; priceMinor: number; minPriceMinor: number; currency: string }

/** A ticket that costs nothing whatever is chosen. */
function isFree(ticket: TicketPrice) {
  return ticket.kind === 'free' || (ticket.kind === 'paid' && ticket.priceMinor <= 0)
}

/** A ticket whose name already says it is free ("Free place"): "Free place: free" says it twice. */
function nameSaysFree(name: string) {
  return /\bfree\b/i.test(name)
}

/**
 * The price said after a ticket's name ("Dinner ticket: £45.00 a place"), or null when the name
 * alone says it ("Free place").
 */
export function ticketPriceLabel(ticket: TicketPrice): string | null {
  if (isFree(ticket)) return nameSaysFree(ticket.name) ? null : 'free'
  if (ticket.kind === 'paid') return `${formatMoney(ticket.priceMinor, ticket.currency)} a place`
  return ticket.minPriceMinor > 0
    ? `from ${formatMoney(ticket.minPriceMinor, ticket.currency)} a place, as you choose`
    : 'any amount, as you choose'
}

/** "Free place", or "Dinner ticket: £45.00 a place": how a ticket is named on the page and in the form. */
export function ticketLine(ticket: TicketPrice): string {
  const price = ticketPriceLabel(ticket)
  return price ? `${ticket.name}: ${price}` : ticket.name
}

/** The least a ticket costs: nothing for free tickets and pay-what-you-can without a minimum. */
function lowestCost(ticket: TicketPrice) {
  if (isFree(ticket)) return 0
  return ticket.kind === 'paid' ? ticket.priceMinor : ticket.minPriceMinor
}

/**
 * One line for an event card: "Free", "£45", "From £5" (several prices, or pay what you can with
 * a minimum), "Free, or from £10", "Free, or pay what you can", "Pay what you can"; null for an event without tickets.
 * Tickets in another currency than the first one that costs something are left out of the "from".
 */
export function eventPriceLabel(tickets: readonly TicketPrice[]): string | null {
  if (tickets.length === 0) return null
  if (tickets.every(isFree)) return 'Free'
  const costing = tickets.filter((ticket) => lowestCost(ticket) > 0)
  const currency = costing[0]?.currency
  const lowestPaid = costing.filter((ticket) => ticket.currency === currency).reduce((low, ticket) => Math.min(low, lowestCost(ticket)), Infinity)
  const anyCostsNothing = tickets.some((ticket) => lowestCost(ticket) === 0)
  // Only pay-what-you-can tickets without a minimum cost anything, and only if one chooses to.
  if (!currency) return tickets.some(isFree) ? 'Free, or pay what you can' : 'Pay what you can'
  const amount = formatMoneyShort(lowestPaid, currency)
  if (anyCostsNothing) return `Free, or from ${amount}`
  const oneFixedPrice = tickets.every((ticket) => ticket.kind === 'paid' && ticket.currency === currency && ticket.priceMinor === lowestPaid)
  return oneFixedPrice ? amount : `From ${amount}`
}
