import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { getMailboxBatch, getMailboxEmail } from '#app/modules/email/dev-mailbox.server.ts'
import { isDevMailboxEnabled } from '#app/modules/email/sender.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `${data.email.subject} · Development mailbox` : 'Development mailbox' },
  { name: 'robots', content: 'noindex' },
]

export async function loader({ params }: LoaderFunctionArgs) {
  if (!isDevMailboxEnabled()) throw new Response('Not found', { status: 404 })
  const email = await getMailboxEmail(getDb(), params.id ?? '').catch(() => undefined)
  if (!email) throw new Response('Not found', { status: 404 })
  const batch = await getMailboxBatch(getDb(), email.outbox_id)
  return {
    batch,
    email: {
      id: email.id,
      subject: email.subject,
      from: email.from_address,
      to: email.to_address,
      text: email.text,
      createdAt: email.created_at,
      attachments: email.attachments.map((attachment) => ({
        filename: attachment.filename,
        contentType: attachment.contentType,
      })),
    },
  }
}

export default function DevMailboxEmail() {
  const { email, batch } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <p>
        <Link to="/dev/mailbox">Back to the mailbox</Link>
      </p>
      <h1>{email.subject}</h1>
      <dl className="facts">
        <dt>From</dt>
        <dd>{email.from}</dd>
        <dt>To</dt>
        <dd>{email.to}</dd>
        <dt>Sent</dt>
        <dd>{email.createdAt.toISOString()}</dd>
        <dt>How</dt>
        <dd>{batch ? `In a batch of ${batch.size} (batch ${batch.id}), as Resend's batch endpoint would take it` : 'On its own'}</dd>
      </dl>
      {email.attachments.length > 0 ? (
        <section aria-labelledby="attachments-title">
          <h2 id="attachments-title">Attachments</h2>
          <ul>
            {email.attachments.map((attachment, index) => (
              <li key={attachment.filename}>
                <a href={`/dev/mailbox/${email.id}/attachments/${index}`} download={attachment.filename}>
                  {attachment.filename}
                </a>{' '}
                ({attachment.contentType})
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <h2>As HTML</h2>
      <p>
        {/* A page of its own rather than a frame: the email's HTML runs under a policy that allows nothing remote. */}
        <a href={`/dev/mailbox/${email.id}/html`}>View the email as the supporter sees it</a>
      </p>
      <h2>As text</h2>
      <pre className="email-text" data-testid="email-text">
        {email.text}
      </pre>
    </div>
  )
}
