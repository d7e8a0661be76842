/**
 * What the donation form hands to checkout once zod has validated it. Shared by the appeal route
 * (which builds it) and the checkout module (which acts on it).
 */
export type DonationRequest = {
  appealId: string
  /** A UUID rendered into the form: a double submit or a retried request is the same donation. */
  submissionId: string
  frequency: 'one_off' | 'monthly'
  /** The gift in the appeal currency's minor units, without the covered fee. */
  amountMinor: number
  coverFee: boolean
  name: string
  email: string
  message: string | null
  showName: boolean
  showAmount: boolean
  showMessage: boolean
  /** Emails about this appeal's progress. */
  updatesOptIn: boolean
  giftAid: null | { fullName: string; houseNameOrNumber: string; address: string; postcode: string }
}

export type CheckoutOutcome =
  /** `submissionId`: the one the donation was stored under (a changed gift gets its own). */
  | { kind: 'redirect'; url: string; submissionId: string }
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  | { kind: 'closed' }
  | { kind: 'unavailable'; message: string }

/** Where the notice "no money was taken" sits on the appeal page; Stripe's return jumps to it. */
export const CHECKOUT_RETURN_ANCHOR = 'checkout-return'

/** Stripe's cancel_url: the appeal, saying the donor left, scrolled to the form and its notice. */
export function checkoutCancelUrl(origin: string, slug: string): string {
  return `${origin}/appeals/${slug}?checkout=cancelled#${CHECKOUT_RETURN_ANCHOR}`
}
