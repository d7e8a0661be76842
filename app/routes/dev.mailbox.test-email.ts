import { randomUUID } from 'node:crypto'
import type { ActionFunctionArgs } from '@remix-run/node'
import { redirect } from '@remix-run/node'
import { z } from 'zod'
import { emailTemplateNames, emailTemplates, type EmailTemplateName } from '#emails/index.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { isDevMailboxEnabled } from '#app/modules/email/sender.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'

const schema = z.object({
  to: z.string().trim().email('Enter an email address, like name@example.org'),
  template: z
    .string()
    .refine((name): name is EmailTemplateName => (emailTemplateNames as string[]).includes(name), 'Choose an email')
    .default('staff-sign-in'),
})

/** Development only: sends one email with its preview data through the real outbox and worker. */
export async function action({ request }: ActionFunctionArgs) {
  if (!isDevMailboxEnabled()) throw new Response('Not found', { status: 404 })
  const result = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!result.success) {
    return new Response(JSON.stringify({ errors: result.error.flatten().fieldErrors }), {
      status: 400,
      headers: { 'Content-Type': 'application/json' },
    })
  }
  const template = result.data.template as EmailTemplateName
  await getDb()
    .transaction()
    .execute((trx) =>
      enqueueEmail(trx, {
        template,
        to: result.data.to,
        props: emailTemplates[template].previewProps as Record<string, unknown>,
        idempotencyKey: `test-email/${randomUUID()}`,
      }),
    )
  // The address in the query lets the mailbox say what was queued, and tells a waiting test the post is done.
  return redirect(`/dev/mailbox?queued=${encodeURIComponent(result.data.to)}`, 303)
}

export async function loader() {
  throw new Response('Not found', { status: 404 })
}
