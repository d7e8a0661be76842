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
  | { kind: 'redirect'; url: string }
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  | { kind: 'closed' }
  | { kind: 'unavailable'; message: string }
