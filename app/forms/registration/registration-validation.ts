import { formValidator } from '#app/components/form-validator.ts'
import { createRegistrationFormSchema, type RegistrationFormOptions } from './schema.ts'

/** Loaded on demand by the registration form (see deferred-validation.ts). */
export function registrationValidator(options: RegistrationFormOptions) {
  return formValidator(createRegistrationFormSchema(options))
}
