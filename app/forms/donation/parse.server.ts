import { parseWithZod } from '@conform-to/zod'
import type { ReturningDonation } from '#app/modules/donations/checkout-return.server.ts'
import { minorToDecimal } from '#app/utils/money.ts'
import { createDonationFormSchema, type DonationFormInput, type DonationFormOptions } from './schema.ts'
import { OTHER_AMOUNT } from './fields.ts'

export { toDonationRequest } from './schema.ts'

/**
 * The server's check of a posted donation form. The appeal route imports the schema through this
 * `.server` module so that the page's browser bundle holds neither zod nor the schema: the browser
 * fetches them only when someone starts to give (app/components/deferred-validation.ts).
 */
export function parseDonationForm(formData: FormData, options: DonationFormOptions) {
  return parseWithZod(formData, { schema: createDonationFormSchema(options) })
}

export type RestoredDonationForm = Partial<Record<keyof DonationFormInput, string>>

/**
 * A returning donor's pending donation as the form's values: a suggested amount ticked when the
 * gift was one, otherwise "Other amount" with the gift typed in ("12.34", "500", "2.500").
 * Not the submission id: the page gives a new one, so a changed gift is a new donation.
 */
export function restoredDonationForm(
  donation: ReturningDonation,
  appeal: { currency: string; suggestedAmountsMinor: number[] },
): RestoredDonationForm {
  const suggested = appeal.suggestedAmountsMinor.includes(donation.amountMinor)
  const box = (ticked: boolean) => (ticked ? 'on' : undefined)
  const values: RestoredDonationForm = {
    frequency: donation.frequency,
    amount: suggested ? String(donation.amountMinor) : OTHER_AMOUNT,
    customAmount: suggested ? undefined : minorToDecimal(donation.amountMinor, appeal.currency),
    coverFee: box(donation.coverFee),
    name: donation.name,
    email: donation.email,
    message: donation.message ?? undefined,
    showName: box(donation.showName),
    showAmount: box(donation.showAmount),
    showMessage: box(donation.showMessage),
    updatesOptIn: box(donation.updatesOptIn),
    giftAid: box(donation.giftAid !== null),
    houseNameOrNumber: donation.giftAid?.houseNameOrNumber,
    address: donation.giftAid?.address,
    postcode: donation.giftAid?.postcode,
  }
  // Left out rather than undefined, so the form's own defaults are not overwritten with nothing.
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as RestoredDonationForm
}
