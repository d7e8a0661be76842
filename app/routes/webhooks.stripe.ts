import type { ActionFunctionArgs } from '@remix-run/node'
import { processStripeWebhook } from '#app/modules/payments/stripe-webhook.server.ts'
import { getDb } from '#app/utils/db.server.ts'

/** Stripe's events: the truth about payments. The signature is checked over the raw body. */
export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== 'POST') return new Response('Method not allowed', { status: 405 })
  const rawBody = await request.text()
  const result = await processStripeWebhook(getDb(), rawBody, request.headers.get('stripe-signature'))
  return new Response(JSON.stringify({ message: result.message }), {
    status: result.status,
    headers: { 'Content-Type': 'application/json' },
  })
}

export async function loader() {
  return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST' } })
}
