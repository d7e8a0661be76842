import { parseWithZod } from '@conform-to/zod'
import { createRegistrationFormSchema, type RegistrationFormOptions } from '#app/modules/registrations/registration-form.ts'
import { withoutHoneypot } from '#app/components/honeypot.ts'

/** Loaded on demand by the registration form (see deferred-validation.ts): this is where zod comes in. */
export function registrationValidator(options: RegistrationFormOptions) {
  const schema = createRegistrationFormSchema(options)
  // The honeypot is left to the server: a browser that filled it would otherwise be stopped
  // here by an error on a field the person cannot see.
  return (formData: FormData) => parseWithZod(withoutHoneypot(formData), { schema })
}
