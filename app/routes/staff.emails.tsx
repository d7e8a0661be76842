import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { listFailedEmails, retryEmail } from '#app/modules/email/outbox.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

const schema = z.object({ emailId: z.string().uuid('Choose an email to send again') })

/** The least role that may open this route; tests/integration/staff-routes.test.ts reads it. */
export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Emails that could not be sent' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const emails = await listFailedEmails(getDb())
  return {
    emails: emails.map((email) => ({
      id: email.id,
      template: email.template,
      to: email.to_address,
      attempts: email.attempts,
      lastError: email.last_error,
      failedAt: email.updated_at.toISOString().slice(0, 16).replace('T', ' '),
    })),
  }
}

/** Sends a failed email again with its original idempotency key, so Resend never sends it twice. */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const parsed = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) return data({ message: parsed.error.issues[0]?.message ?? 'Check the form' }, { status: 400 })
  const db = getDb()
  const queued = await retryEmail(db, parsed.data.emailId)
  if (queued) {
    await recordAudit(db, { staffUserId: staff.id, action: 'email.retry', subjectType: 'email', subjectId: parsed.data.emailId })
  }
  return { message: queued ? 'The email is queued to be sent again.' : 'That email is no longer waiting for a retry.' }
}

export default function FailedEmails() {
  const { emails } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <div className="container page">
      <h1>Emails that could not be sent</h1>
      <p className="lead">
        After a day of refusals from our email provider, an email is set aside here with its last error. Sending it again
        uses the same key, so nobody receives it twice.
      </p>
      {result ? (
        <p role="status" aria-live="polite">
          {result.message}
        </p>
      ) : null}
      {emails.length === 0 ? (
        <p>Every email has been sent.</p>
      ) : (
        <table className="table">
          <caption className="visually-hidden">Failed emails, most recent first</caption>
          <thead>
            <tr>
              <th scope="col">Failed at (UTC)</th>
              <th scope="col">Email</th>
              <th scope="col">To</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {emails.map((email) => (
              <tr key={email.id}>
                <td>{email.failedAt}</td>
                <td>{email.template}</td>
                <td>{email.to}</td>
                <td>{email.attempts}</td>
                <td>{email.lastError}</td>
                <td>
                  <Form method="post">
                    <input type="hidden" name="emailId" value={email.id} />
                    <button type="submit" className="button button--secondary">
                      Send again
                    </button>
                  </Form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
