import type { LoaderFunctionArgs } from '@remix-run/node'
import { getMailboxEmail } from '#app/modules/email/dev-mailbox.server.ts'
import { isDevMailboxEnabled } from '#app/modules/email/sender.server.ts'
import { getDb } from '#app/utils/db.server.ts'

/** The email's HTML on its own, for the mailbox's sandboxed frame: no scripts, nothing remote. */
export async function loader({ params }: LoaderFunctionArgs) {
  if (!isDevMailboxEnabled()) throw new Response('Not found', { status: 404 })
  const email = await getMailboxEmail(getDb(), params.id ?? '').catch(() => undefined)
  if (!email) throw new Response('Not found', { status: 404 })
  return new Response(email.html, {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
      'Cache-Control': 'no-store',
    },
  })
}
