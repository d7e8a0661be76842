import Stripe from 'stripe'
import { getEnv } from '#app/utils/env.server.ts'
import { singleton } from '#app/utils/singleton.server.ts'

/**
 * The one module that imports the Stripe SDK. Everything else asks it for a Checkout Session, a
 * verified webhook event, a refund or a list of events.
 *
 * With no STRIPE_SECRET_KEY outside production, checkout is "offline": sessions are local ids and
 * the supporter is sent to /dev/checkout, which builds Stripe-shaped events, signs them with
 * OFFLINE_WEBHOOK_SECRET and hands them to the real webhook handler.
 */

export type StripeEvent = Stripe.Event

/**
 * The Stripe API version every request asks for, pinned here rather than left to the installed
 * SDK's default, so upgrading the SDK never quietly changes the shape of what Stripe sends back.
 * It is the version stripe@23.1.0 is typed for (its Stripe.API_VERSION): a later SDK whose types
 * name another version fails to compile here, which is the moment to read Stripe's changelog.
 * The webhook endpoint must be set to the same version (README), because an event's object is
 * shaped by the endpoint's version, not the client's.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive' satisfies Stripe.LatestApiVersion

/** Signs the offline checkout's events in development; never accepted in production. */
export const OFFLINE_WEBHOOK_SECRET = 'whsec_offline_checkout_for_development_only'

export function isOfflineCheckout() {
  const env = getEnv()
  return !env.STRIPE_SECRET_KEY && env.NODE_ENV !== 'production'
}

function stripe(): Stripe {
  const key = getEnv().STRIPE_SECRET_KEY
  if (!key) throw new Error('STRIPE_SECRET_KEY is not set')
  return singleton(`stripe:${key}`, () => new Stripe(key, { apiVersion: STRIPE_API_VERSION, maxNetworkRetries: 2, timeout: 20_000 }))
}

/** The secret our own signatures use: the offline checkout's in development, else the configured one. */
export function webhookSecret(): string {
  if (isOfflineCheckout()) return OFFLINE_WEBHOOK_SECRET
  const secret = getEnv().STRIPE_WEBHOOK_SECRET
  if (!secret) throw new Error('STRIPE_WEBHOOK_SECRET is not set')
  return secret
}

/**
 * Every secret an incoming webhook may be signed with. Offline (development without a secret
 * key) that is the offline checkout's own and, when set, the configured STRIPE_WEBHOOK_SECRET,
 * so events forwarded by the Stripe CLI (`stripe listen`) are taken too. Online, only the
 * configured one: the offline secret is public and must never be accepted there.
 */
export function acceptedWebhookSecrets(): string[] {
  const configured = getEnv().STRIPE_WEBHOOK_SECRET
  if (isOfflineCheckout()) return configured ? [configured, OFFLINE_WEBHOOK_SECRET] : [OFFLINE_WEBHOOK_SECRET]
  return [webhookSecret()]
}

export type NewCheckoutSession = {
  donationId: string
  appealId: string
  recurringPlanId: string | null
  mode: 'payment' | 'subscription'
  /** The whole charge: the gift plus any covered fee, in minor units. */
  amountMinor: number
  currency: string
  productName: string
  customerEmail: string
  successUrl: string
  cancelUrl: string
}

/**
 * Creates (or, with the same idempotency key, finds again) the Checkout Session for a donation.
 * Offline, the "session" is a local page.
 */
export async function createCheckoutSession(session: NewCheckoutSession): Promise<{ id: string; url: string }> {
  const idempotencyKey = `checkout:${session.donationId}`
  if (isOfflineCheckout()) {
    const origin = new URL(session.successUrl).origin
    return { id: `cs_offline_${session.donationId}`, url: `${origin}/dev/checkout/${session.donationId}` }
  }
  const metadata = {
    donation_id: session.donationId,
    appeal_id: session.appealId,
    ...(session.recurringPlanId ? { recurring_plan_id: session.recurringPlanId } : {}),
  }
  const created = await stripe().checkout.sessions.create(
    {
      mode: session.mode,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: session.currency.toLowerCase(),
            unit_amount: session.amountMinor,
            product_data: { name: session.productName },
            ...(session.mode === 'subscription' ? { recurring: { interval: 'month' as const } } : {}),
          },
        },
      ],
      // Stripe accepts submit_type only for one-off payments; a subscription's button says "Subscribe".
      ...(session.mode === 'payment'
        ? { submit_type: 'donate' as const, payment_intent_data: { metadata } }
        : { subscription_data: { metadata } }),
      customer_email: session.customerEmail,
      client_reference_id: session.donationId,
      metadata,
      success_url: session.successUrl,
      cancel_url: session.cancelUrl,
    },
    { idempotencyKey },
  )
  if (!created.url) throw new Error('Stripe returned a Checkout Session without a URL')
  return { id: created.id, url: created.url }
}

export type NewTicketCheckoutSession = {
  registrationId: string
  eventId: string
  /** The whole charge for every place booked, in minor units. */
  amountMinor: number
  currency: string
  productName: string
  customerEmail: string
  successUrl: string
  cancelUrl: string
  /** The end of the hold on the places: Stripe wants it at least 30 minutes after creation. */
  expiresAt: Date
}

/**
 * Creates (or, with the same idempotency key, finds again) the Checkout Session that pays for a
 * held registration. The session ends when the hold does, so nobody pays for places we released.
 * Offline, the "session" is a local page.
 */
export async function createTicketCheckoutSession(session: NewTicketCheckoutSession): Promise<{ id: string; url: string }> {
  const idempotencyKey = `registration-checkout:${session.registrationId}`
  if (isOfflineCheckout()) {
    const origin = new URL(session.successUrl).origin
    return { id: `cs_offline_registration_${session.registrationId}`, url: `${origin}/dev/checkout/registration/${session.registrationId}` }
  }
  const metadata = { registration_id: session.registrationId, event_id: session.eventId }
  const created = await stripe().checkout.sessions.create(
    {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: session.currency.toLowerCase(),
            unit_amount: session.amountMinor,
            product_data: { name: session.productName },
          },
        },
      ],
      payment_intent_data: { metadata },
      customer_email: session.customerEmail,
      client_reference_id: session.registrationId,
      metadata,
      // Whole seconds rounded up: rounding down could fall under Stripe's 30-minute minimum.
      expires_at: Math.ceil(session.expiresAt.getTime() / 1000),
      success_url: session.successUrl,
      cancel_url: session.cancelUrl,
    },
    { idempotencyKey },
  )
  if (!created.url) throw new Error('Stripe returned a Checkout Session without a URL')
  return { id: created.id, url: created.url }
}

/**
 * Ends an open Checkout Session now, so nobody can pay for places we are giving back. Stripe
 * refuses an `expires_at` under 30 minutes, so a hold ended sooner (its holder cancelled, or left
 * the payment page) must be expired explicitly. Returns 'expired', or 'not-open' when Stripe says
 * the session was already complete or expired (a payment that got there first is then confirmed
 * or refunded by its webhook, as for any late payment). Offline there is nothing to end.
 */
export async function expireCheckoutSession(sessionId: string): Promise<'expired' | 'not-open'> {
  if (isOfflineCheckout() || sessionId.startsWith('cs_offline_')) return 'expired'
  try {
    // No idempotency key: a second request is answered 'not open', which means the same here.
    await stripe().checkout.sessions.expire(sessionId)
    return 'expired'
  } catch (error) {
    // "Only Checkout Sessions with a status in [open] can be expired": a 400 about this session.
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 400) return 'not-open'
    throw error
  }
}

/**
 * Verifies the signature over the raw body (300 s tolerance) against each accepted secret and
 * returns the event; throws the first secret's error when none verifies.
 */
export function constructWebhookEvent(rawBody: string, signatureHeader: string, secrets: string | string[] = acceptedWebhookSecrets()): StripeEvent {
  let firstError: unknown = new Error('No Stripe webhook secret to verify with')
  for (const [index, secret] of (typeof secrets === 'string' ? [secrets] : secrets).entries()) {
    try {
      return Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret)
    } catch (error) {
      if (index === 0) firstError = error
    }
  }
  throw firstError
}

/** Signs a payload as Stripe would: for the offline checkout and for tests. */
export function signWebhookPayload(payload: string, secret = webhookSecret(), timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp })
}

/** Events Stripe could not deliver to us, newest first, from `since` on. */
export async function listUndeliveredEvents(since: Date): Promise<StripeEvent[]> {
  if (isOfflineCheckout()) return []
  const events: StripeEvent[] = []
  for await (const event of stripe().events.list({
    created: { gte: Math.floor(since.getTime() / 1000) },
    delivery_success: false,
    limit: 100,
  })) {
    events.push(event)
  }
  return events
}

/**
 * Gives back a payment (all of it, or `amountMinor` of it). Offline no money moved, so there is
 * nothing to give back.
 */
export async function refundPayment(options: { paymentIntentId: string; amountMinor: number; idempotencyKey: string }): Promise<{ id: string } | null> {
  if (isOfflineCheckout()) return null
  const refund = await stripe().refunds.create(
    { payment_intent: options.paymentIntentId, amount: options.amountMinor },
    { idempotencyKey: options.idempotencyKey },
  )
  return { id: refund.id }
}

export async function cancelSubscription(subscriptionId: string) {
  return stripe().subscriptions.cancel(subscriptionId)
}
