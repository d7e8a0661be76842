import { parseWithZod } from '@conform-to/zod'
import { createDonationFormSchema, type DonationFormOptions } from './schema.ts'

export { toDonationRequest } from './schema.ts'

/**
 * The server's check of a posted donation form. The appeal route imports the schema through this
 * `.server` module so that the page's browser bundle holds neither zod nor the schema: the browser
 * fetches them only when someone starts to give (app/components/deferred-validation.ts).
 */
export function parseDonationForm(formData: FormData, options: DonationFormOptions) {
  return parseWithZod(formData, { schema: createDonationFormSchema(options) })
}
