import type { LoaderFunctionArgs } from '@remix-run/node'
import { getMailboxEmail } from '#app/modules/email/dev-mailbox.server.ts'
import { isDevMailboxEnabled } from '#app/modules/email/sender.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export async function loader({ params }: LoaderFunctionArgs) {
  if (!isDevMailboxEnabled()) throw new Response('Not found', { status: 404 })
  const email = await getMailboxEmail(getDb(), params.id ?? '').catch(() => undefined)
  const attachment = email?.attachments[Number(params.index)]
  if (!attachment) throw new Response('Not found', { status: 404 })
  return new Response(Buffer.from(attachment.contentBase64, 'base64'), {
    headers: {
      'Content-Type': attachment.contentType,
      'Content-Disposition': `attachment; filename="${attachment.filename.replace(/[^\w.-]/g, '_')}"`,
      'Cache-Control': 'no-store',
    },
  })
}
