import { randomBytes, randomUUID } from 'node:crypto'
import { http, HttpResponse } from 'msw'

/**
 * The far end of Stripe's HTTP API (Checkout Sessions, refunds, subscriptions, events), and
 * builders for the events Stripe sends us. Events are signed with the SDK's own test helper.
 */

export const STRIPE_API = 'https://api.stripe.com'

/** One request to the fake Stripe: `stripeVersion` is the API version the client asked for. */
export type StripeCall = { path: string; idempotencyKey: string | null; stripeVersion: string | null; form: URLSearchParams }
export const stripeCalls: StripeCall[] = []
export function clearStripeCalls() {
  stripeCalls.length = 0
}

export async function recordStripeCall(request: Request) {
  const url = new URL(request.url)
  const form = new URLSearchParams(request.method === 'GET' ? url.search : await request.clone().text())
  stripeCalls.push({ path: url.pathname, idempotencyKey: request.headers.get('idempotency-key'), stripeVersion: request.headers.get('stripe-version'), form })
}

/** Sessions no longer open (expired by us, or marked paid by a test): expiring them again is refused. */
export const closedSessions = new Set<string>()

/** Stripe keeps the answer to an idempotency key: the same key gives back the same session. */
const sessionsByKey = new Map<string, Record<string, unknown>>()

export function fakeCheckoutSession(form: URLSearchParams) {
  const id = `cs_test_${randomBytes(12).toString('hex')}`
  return {
    id,
    object: 'checkout.session',
    url: `https://checkout.stripe.com/c/pay/${id}`,
    mode: form.get('mode'),
    client_reference_id: form.get('client_reference_id'),
    metadata: { donation_id: form.get('metadata[donation_id]') },
    amount_total: Number(form.get('line_items[0][price_data][unit_amount]')),
    currency: form.get('line_items[0][price_data][currency]'),
    payment_status: 'unpaid',
    status: 'open',
  }
}

export const stripeHandlers = [
  http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request }) => {
    await recordStripeCall(request)
    const key = request.headers.get('idempotency-key') ?? randomUUID()
    const form = stripeCalls.at(-1)!.form
    const session = sessionsByKey.get(key) ?? fakeCheckoutSession(form)
    sessionsByKey.set(key, session)
    return HttpResponse.json(session)
  }),
  // Ending a session early: Stripe answers 400 for one that is no longer open (paid, or expired).
  http.post(`${STRIPE_API}/v1/checkout/sessions/:id/expire`, async ({ request, params }) => {
    await recordStripeCall(request)
    const id = String(params.id)
    if (closedSessions.has(id)) {
      return HttpResponse.json(
        { error: { type: 'invalid_request_error', message: 'Only Checkout Sessions with a status in [open] can be expired.' } },
        { status: 400 },
      )
    }
    closedSessions.add(id)
    return HttpResponse.json({ id, object: 'checkout.session', status: 'expired', payment_status: 'unpaid', url: null })
  }),
  http.post(`${STRIPE_API}/v1/refunds`, async ({ request }) => {
    await recordStripeCall(request)
    const form = stripeCalls.at(-1)!.form
    return HttpResponse.json({ id: `re_${randomBytes(8).toString('hex')}`, object: 'refund', amount: Number(form.get('amount') ?? 0), status: 'succeeded' })
  }),
  http.delete(`${STRIPE_API}/v1/subscriptions/:id`, async ({ request, params }) => {
    await recordStripeCall(request)
    return HttpResponse.json({ id: params.id, object: 'subscription', status: 'canceled' })
  }),
  http.get(`${STRIPE_API}/v1/events`, async ({ request }) => {
    await recordStripeCall(request)
    return HttpResponse.json({ object: 'list', data: [], has_more: false, url: '/v1/events' })
  }),
]

let eventSequence = 0

/** An event as Stripe delivers it. `created` orders them; tests may pass their own. */
export function stripeEvent<T extends object>(type: string, object: T, created = Math.floor(Date.now() / 1000) + eventSequence++) {
  return {
    id: `evt_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  }
}

export function completedSession(options: {
  donationId: string
  amountMinor: number
  currency?: string
  paymentIntent?: string
  paymentStatus?: 'paid' | 'unpaid'
  mode?: 'payment' | 'subscription'
  subscription?: string
  invoice?: string
  recurringPlanId?: string
}) {
  return {
    id: `cs_test_${options.donationId.slice(0, 8)}`,
    object: 'checkout.session',
    mode: options.mode ?? 'payment',
    client_reference_id: options.donationId,
    metadata: { donation_id: options.donationId, ...(options.recurringPlanId ? { recurring_plan_id: options.recurringPlanId } : {}) },
    amount_total: options.amountMinor,
    currency: (options.currency ?? 'gbp').toLowerCase(),
    customer: 'cus_test_1',
    payment_intent: options.mode === 'subscription' ? null : (options.paymentIntent ?? `pi_${options.donationId.slice(0, 8)}`),
    payment_status: options.paymentStatus ?? 'paid',
    status: 'complete',
    subscription: options.subscription ?? null,
    invoice: options.invoice ?? null,
  }
}

export function refundedCharge(options: { paymentIntent: string; amountMinor: number; amountRefundedMinor: number; chargeId?: string }) {
  return {
    id: options.chargeId ?? `ch_${options.paymentIntent.slice(3)}`,
    object: 'charge',
    amount: options.amountMinor,
    amount_refunded: options.amountRefundedMinor,
    payment_intent: options.paymentIntent,
    refunded: options.amountRefundedMinor >= options.amountMinor,
    paid: true,
    status: 'succeeded',
  }
}

export function dispute(options: { paymentIntent: string; amountMinor: number; status: 'needs_response' | 'won' | 'lost'; id?: string }) {
  return {
    id: options.id ?? `dp_${options.paymentIntent.slice(3)}`,
    object: 'dispute',
    amount: options.amountMinor,
    charge: `ch_${options.paymentIntent.slice(3)}`,
    payment_intent: options.paymentIntent,
    status: options.status,
  }
}

export function paidInvoice(options: {
  id: string
  subscription: string
  amountPaidMinor: number
  billingReason: 'subscription_create' | 'subscription_cycle'
  recurringPlanId?: string
}) {
  return {
    id: options.id,
    object: 'invoice',
    amount_paid: options.amountPaidMinor,
    billing_reason: options.billingReason,
    customer: 'cus_test_1',
    status: 'paid',
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: {
        subscription: options.subscription,
        metadata: options.recurringPlanId ? { recurring_plan_id: options.recurringPlanId } : {},
      },
    },
  }
}

/** An invoice payment (`invoice_payment.paid`): which payment intent paid which invoice. */
export function invoicePayment(options: { invoice: string; paymentIntent: string; amountMinor: number }) {
  return {
    id: `inpay_${options.paymentIntent.slice(3, 14)}`,
    object: 'invoice_payment',
    amount_paid: options.amountMinor,
    currency: 'gbp',
    invoice: options.invoice,
    is_default: true,
    status: 'paid',
    payment: { type: 'payment_intent', payment_intent: options.paymentIntent },
  }
}
