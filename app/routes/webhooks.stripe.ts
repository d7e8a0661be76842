import type { ActionFunctionArgs } from '@remix-run/node'
import { receiveStripeWebhook, STRIPE_WEBHOOK_MAX_BYTES } from '#app/modules/payments/stripe-webhook.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readTextWithLimit } from '#app/utils/request-body.server.ts'

/**
 * Stripe's events: the truth about payments. The signature is checked over the raw body, the event
 * is stored in the inbox and answered at once; the worker applies it (docs/decisions/014).
 */
export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== 'POST') return new Response('Method not allowed', { status: 405 })
  const rawBody = await readTextWithLimit(request, STRIPE_WEBHOOK_MAX_BYTES)
  const result = await receiveStripeWebhook(getDb(), rawBody, request.headers.get('stripe-signature'))
  return new Response(JSON.stringify({ message: result.message }), {
    status: result.status,
    headers: { 'Content-Type': 'application/json' },
  })
}

export async function loader() {
  return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST' } })
}
