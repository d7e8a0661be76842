import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { emailTemplateNames } from '#emails/index.ts'
import { listMailbox } from '#app/modules/email/dev-mailbox.server.ts'
import { isDevMailboxEnabled } from '#app/modules/email/sender.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction = () => [{ title: 'Development mailbox' }, { name: 'robots', content: 'noindex' }]

export async function loader({ request }: LoaderFunctionArgs) {
  if (!isDevMailboxEnabled()) throw new Response('Not found', { status: 404 })
  const queuedTo = new URL(request.url).searchParams.get('queued')
  return { emails: await listMailbox(getDb()), templateNames: emailTemplateNames, queuedTo }
}

export default function DevMailbox() {
  const { emails, templateNames, queuedTo } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Development mailbox</h1>
      <p className="lead">
        With no Resend key, every email the app sends lands here instead of in a real inbox. Newest first.
      </p>
      <Form method="post" action="/dev/mailbox/test-email" className="inline-form">
        <div className="field">
          <label htmlFor="test-email-template">Email</label>
          <select id="test-email-template" name="template" defaultValue="staff-sign-in">
            {templateNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="test-email-to">Send to</label>
          <input id="test-email-to" name="to" type="email" required defaultValue="you@example.org" autoComplete="off" />
        </div>
        <button type="submit" className="button button--secondary">
          Send a test email
        </button>
      </Form>
      <p role="status">{queuedTo ? `A test email to ${queuedTo} is queued; reload in a moment to see it below.` : null}</p>
      {emails.length === 0 ? (
        <p>No emails yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
            </tr>
          </thead>
          <tbody>
            {emails.map((email) => (
              <tr key={email.id}>
                <td>
                  <time dateTime={email.created_at.toISOString()}>{email.created_at.toLocaleString('en-GB', { timeZone: 'UTC' })} UTC</time>
                </td>
                <td>{email.to_address}</td>
                <td>
                  <Link to={`/dev/mailbox/${email.id}`}>{email.subject}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
