import { formValidator } from '#app/components/form-validator.ts'
import { createDonationFormSchema, type DonationFormOptions } from './schema.ts'

/** Loaded on demand by the donation form (see deferred-validation.ts). */
export function donationValidator(options: DonationFormOptions) {
  return formValidator(createDonationFormSchema(options))
}
