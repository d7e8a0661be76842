import { addJob } from '#app/modules/jobs/jobs.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { applyDueStripeEvents } from './stripe-inbox.server.ts'
import { receiveStripeWebhook } from './stripe-webhook.server.ts'
import { isOfflineCheckout, signWebhookPayload } from './stripe.server.ts'

/**
 * Development without Stripe keys: the supporter pays on a local page, and this module builds the
 * events Stripe would send, signs them with the offline webhook secret and hands them to the same
 * webhook processing a real delivery goes through.
 */

export const SETTLE_OFFLINE_PAYMENT_TASK = 'settle_offline_payment'
const DELAYED_PAYMENT_SECONDS = 60

export async function getOfflineCheckout(db: Database, donationId: string) {
  if (!isUuid(donationId)) return undefined
  return db
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .select([
      'd.id',
      'd.status',
      'd.frequency',
      'd.amount_minor',
      'd.fee_cover_minor',
      'd.currency',
      'd.recurring_plan_id',
      'd.stripe_checkout_session_id',
      'a.title as appeal_title',
      'a.slug as appeal_slug',
    ])
    .where('d.id', '=', donationId)
    .executeTakeFirst()
}

type OfflineDonation = NonNullable<Awaited<ReturnType<typeof getOfflineCheckout>>>

let sequence = 0

function event(type: string, object: object) {
  sequence += 1
  return {
    id: `evt_offline_${Date.now().toString(36)}${sequence.toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    object: 'event',
    api_version: 'offline',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  }
}

function session(donation: OfflineDonation, paymentStatus: 'paid' | 'unpaid') {
  const monthly = donation.frequency === 'monthly'
  return {
    id: donation.stripe_checkout_session_id ?? `cs_offline_${donation.id}`,
    object: 'checkout.session',
    mode: monthly ? 'subscription' : 'payment',
    client_reference_id: donation.id,
    metadata: { donation_id: donation.id, ...(donation.recurring_plan_id ? { recurring_plan_id: donation.recurring_plan_id } : {}) },
    amount_total: donation.amount_minor + donation.fee_cover_minor,
    currency: donation.currency.toLowerCase(),
    customer: `cus_offline_${donation.id.slice(0, 8)}`,
    payment_intent: monthly ? null : `pi_offline_${donation.id}`,
    subscription: monthly ? `sub_offline_${donation.recurring_plan_id}` : null,
    invoice: monthly ? `in_offline_${donation.id}` : null,
    payment_status: paymentStatus,
    status: 'complete',
  }
}

/**
 * Signs the event and puts it through the webhook's own intake into the inbox, then applies what
 * is due at once: the local payment page plays both Stripe and a worker that is never behind, so
 * a developer comes back to the result. The thank-you page's "confirming" state is the one a
 * slower worker would show.
 */
async function deliver(db: Database, payload: object) {
  const body = JSON.stringify(payload)
  const result = await receiveStripeWebhook(db, body, signWebhookPayload(body), 'offline')
  if (result.status !== 200) throw new Error(`The offline checkout's event was refused: ${result.message}`)
  await applyDueStripeEvents(db, { maxAttempts: getEnv().STRIPE_EVENT_MAX_ATTEMPTS })
}

export type OfflineOutcome = 'pay' | 'delayed'

export async function completeOfflineCheckout(db: Database, donation: OfflineDonation, outcome: OfflineOutcome) {
  if (!isOfflineCheckout()) throw new Error('The offline checkout is for development only')
  if (outcome === 'pay') {
    await deliver(db, event('checkout.session.completed', session(donation, 'paid')))
    if (donation.frequency === 'monthly') {
      await deliver(
        db,
        event('invoice.paid', {
          id: `in_offline_${donation.id}`,
          object: 'invoice',
          amount_paid: donation.amount_minor + donation.fee_cover_minor,
          billing_reason: 'subscription_create',
          customer: `cus_offline_${donation.id.slice(0, 8)}`,
          status: 'paid',
          parent: {
            type: 'subscription_details',
            subscription_details: {
              subscription: `sub_offline_${donation.recurring_plan_id}`,
              metadata: { recurring_plan_id: donation.recurring_plan_id },
            },
          },
        }),
      )
    }
    return
  }
  // A bank debit: Checkout completes unpaid, and the money is confirmed a minute later.
  await deliver(db, event('checkout.session.completed', session(donation, 'unpaid')))
  await addJob(db, SETTLE_OFFLINE_PAYMENT_TASK, { donationId: donation.id }, {
    jobKey: `settle-offline:${donation.id}`,
    runAt: new Date(Date.now() + DELAYED_PAYMENT_SECONDS * 1000),
  })
}

/** The job that plays the bank, a minute after a delayed payment. */
export async function settleOfflinePayment(db: Database, donationId: string) {
  const donation = await getOfflineCheckout(db, donationId)
  if (!donation) return
  await deliver(db, event('checkout.session.async_payment_succeeded', session(donation, 'paid')))
}

/** Stopping an offline monthly gift: the event Stripe sends when a subscription is cancelled. */
export async function endOfflineSubscription(db: Database, planId: string) {
  await deliver(
    db,
    event('customer.subscription.deleted', {
      id: `sub_offline_${planId}`,
      object: 'subscription',
      status: 'canceled',
      metadata: { recurring_plan_id: planId },
    }),
  )
}

/**
 * A staff refund of an offline gift, as Stripe reports one: its signed `charge.refunded`, with the
 * charge's cumulative refunded amount, into the inbox and applied, so the ledger, the totals and
 * the donation's history move exactly as they do for a real refund. Without it a newcomer could
 * not try refunds without a Stripe account.
 */
export async function refundOfflinePayment(db: Database, donationId: string, refund: { refundId: string; amountMinor: number }) {
  if (!isOfflineCheckout()) throw new Error('The offline checkout is for development only')
  const donation = await db
    .selectFrom('donations')
    .select(['id', 'amount_minor', 'fee_cover_minor', 'refunded_minor', 'currency', 'stripe_payment_intent_id', 'stripe_charge_id'])
    .where('id', '=', donationId)
    .executeTakeFirst()
  if (!donation?.stripe_payment_intent_id) throw new Error('This donation has no offline payment to refund')
  const charged = donation.amount_minor + donation.fee_cover_minor
  const refunded = Math.min(charged, donation.refunded_minor + refund.amountMinor)
  await deliver(
    db,
    event('charge.refunded', {
      id: donation.stripe_charge_id ?? `ch_offline_${donation.id}`,
      object: 'charge',
      amount: charged,
      amount_refunded: refunded,
      refunded: refunded >= charged,
      currency: donation.currency.toLowerCase(),
      payment_intent: donation.stripe_payment_intent_id,
      refunds: { object: 'list', data: [{ id: refund.refundId, object: 'refund', amount: refund.amountMinor, status: 'succeeded' }] },
    }),
  )
}

/** A held registration's offline checkout: what the local page shows and what its events carry. */
export async function getOfflineTicketCheckout(db: Database, registrationId: string) {
  if (!isUuid(registrationId)) return undefined
  return db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.status',
      'r.quantity',
      'r.amount_minor',
      'r.currency',
      'r.stripe_checkout_session_id',
      'e.title as event_title',
      't.name as ticket_name',
    ])
    .where('r.id', '=', registrationId)
    .executeTakeFirst()
}

type OfflineRegistration = NonNullable<Awaited<ReturnType<typeof getOfflineTicketCheckout>>>

function ticketSession(registration: OfflineRegistration, status: 'complete' | 'expired') {
  return {
    id: registration.stripe_checkout_session_id ?? `cs_offline_registration_${registration.id}`,
    object: 'checkout.session',
    mode: 'payment',
    client_reference_id: registration.id,
    metadata: { registration_id: registration.id },
    amount_total: registration.amount_minor,
    currency: registration.currency.toLowerCase(),
    customer: null,
    payment_intent: status === 'complete' ? `pi_offline_registration_${registration.id}` : null,
    payment_status: status === 'complete' ? 'paid' : 'unpaid',
    status,
  }
}

/** Paying for held places, or letting the checkout time out, as Stripe would report either. */
export async function completeOfflineTicketCheckout(db: Database, registration: OfflineRegistration, outcome: 'pay' | 'expire') {
  if (!isOfflineCheckout()) throw new Error('The offline checkout is for development only')
  if (outcome === 'pay') await deliver(db, event('checkout.session.completed', ticketSession(registration, 'complete')))
  else await deliver(db, event('checkout.session.expired', ticketSession(registration, 'expired')))
}
