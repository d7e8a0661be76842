import type { ActionFunctionArgs } from '@remix-run/node'
import { verifyResendWebhook } from '#app/modules/email/resend.server.ts'
import { applyResendWebhook } from '#app/modules/email/webhook-events.server.ts'
import { isPermanentFailure } from '#app/utils/database-errors.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'

/** Resend's delivery events: bounces and complaints go on the suppression list. */
export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== 'POST') return new Response('Method not allowed', { status: 405 })
  const secret = getEnv().RESEND_WEBHOOK_SECRET
  if (!secret) return new Response('Resend webhooks are not configured', { status: 503 })

  const id = request.headers.get('svix-id')
  const timestamp = request.headers.get('svix-timestamp')
  const signature = request.headers.get('svix-signature')
  const payload = await request.text()
  if (!id || !timestamp || !signature) return new Response('Missing signature headers', { status: 400 })

  let event
  try {
    event = verifyResendWebhook(payload, { id, timestamp, signature }, secret)
  } catch {
    return new Response('Invalid signature', { status: 400 })
  }
  if (!event || typeof event.type !== 'string' || typeof event.data !== 'object' || event.data === null) {
    return new Response('Unexpected payload', { status: 400 })
  }
  let duplicate: boolean
  try {
    ;({ duplicate } = await applyResendWebhook(getDb(), id, event))
  } catch (error) {
    // Rolled back; a value the database cannot take fails the same way on every retry.
    if (!isPermanentFailure(error)) throw error
    getLogger().warn({ err: error, type: event.type }, 'Resend webhook refused')
    return new Response('Unprocessable payload', { status: 400 })
  }
  getLogger().info({ type: event.type, duplicate }, 'Resend webhook')
  return new Response(null, { status: 204 })
}

export async function loader() {
  return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST' } })
}
