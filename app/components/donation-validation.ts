import { parseWithZod } from '@conform-to/zod'
import { createDonationFormSchema, type DonationFormOptions } from '#app/modules/donations/donation-form.ts'
import { withoutHoneypot } from '#app/components/honeypot.ts'

/** Loaded on demand by the donation form (see deferred-validation.ts): this is where zod comes in. */
export function donationValidator(options: DonationFormOptions) {
  const schema = createDonationFormSchema(options)
  // The honeypot is left to the server: a browser that filled it would otherwise be stopped
  // here by an error on a field the person cannot see.
  return (formData: FormData) => errorsOf(parseWithZod(withoutHoneypot(formData), { schema }))
}

/** conform's result as usePublicForm's errors: field name → messages (conform's null is no verdict). */
function errorsOf(submission: { status?: string; error?: Record<string, string[] | null> | null }) {
  const errors: Record<string, string[]> = {}
  if (submission.status === 'success') return errors
  for (const [name, messages] of Object.entries(submission.error ?? {})) if (messages?.length) errors[name] = messages
  return errors
}
