import { parseWithZod } from '@conform-to/zod'
import type { ZodTypeAny } from 'zod'
import { withoutHoneypot } from '#app/components/honeypot.ts'

/**
 * The browser-side check of a public form, loaded on demand (see deferred-validation.ts): this is
 * where zod comes in. The honeypot is left to the server: a browser that filled it would
 * otherwise be stopped here by an error on a field the person cannot see.
 */
export function formValidator(schema: ZodTypeAny) {
  return (formData: FormData) => errorsOf(parseWithZod(withoutHoneypot(formData), { schema }))
}

/** conform's result as usePublicForm's errors: field name → messages (conform's null is no verdict). */
function errorsOf(submission: { status?: string; error?: Record<string, string[] | null> | null }) {
  const errors: Record<string, string[]> = {}
  if (submission.status === 'success') return errors
  for (const [name, messages] of Object.entries(submission.error ?? {})) if (messages?.length) errors[name] = messages
  return errors
}
