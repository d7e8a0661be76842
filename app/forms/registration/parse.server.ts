import { parseWithZod } from '@conform-to/zod'
import { createRegistrationFormSchema, type RegistrationFormOptions } from './schema.ts'

export { toRegistrationRequest } from './schema.ts'

/**
 * The server's check of a posted registration form. The event route imports the schema through
 * this `.server` module so that the page's browser bundle holds neither zod nor the schema: the
 * browser fetches them only when someone starts to register (app/components/deferred-validation.ts).
 */
export function parseRegistrationForm(formData: FormData, options: RegistrationFormOptions) {
  return parseWithZod(formData, { schema: createRegistrationFormSchema(options) })
}
