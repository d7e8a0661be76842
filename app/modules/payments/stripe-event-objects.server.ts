import { z } from 'zod'

/**
 * The parts of each Stripe object our webhook reads, checked before anything is written. A valid
 * signature proves who sent a body, not its shape, and the SDK's types describe what Stripe means
 * to send, not what arrived: an id that is an array once reached a query as `= ()`. An object that
 * does not fit is refused with 400 (Stripe never sends one; a retry could not cure it).
 *
 * Only the fields we use are checked, and everything else is kept, so a new field from Stripe
 * changes nothing. Strings Stripe may extend (modes, statuses, reasons) stay open strings.
 */

const stripeId = z.string().min(1).max(255)
/** An id, or the object it names when the event was expanded; null when there is none. */
const expandable = z.union([stripeId, z.object({ id: stripeId }).passthrough()]).nullish()
/** Minor units as PostgreSQL's bigint holds them, kept inside what a JavaScript number is exact for. */
const minorAmount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
/**
 * Stripe's metadata is always strings: a value of any other kind is not from our own sessions.
 * No length limit: staff may write notes in the Dashboard, and we read only our own ids.
 */
const metadata = z.record(z.string()).nullish()
const openString = z.string().nullish()

export const checkoutSessionObject = z
  .object({
    id: stripeId,
    mode: openString,
    payment_status: openString,
    amount_total: minorAmount.nullish(),
    client_reference_id: openString,
    metadata,
    payment_intent: expandable,
    invoice: expandable,
    subscription: expandable,
    customer: expandable,
  })
  .passthrough()

export const chargeObject = z
  .object({
    id: stripeId,
    payment_intent: expandable,
    amount: minorAmount,
    amount_refunded: minorAmount,
    refunded: z.boolean().nullish(),
  })
  .passthrough()

export const disputeObject = z
  .object({
    id: stripeId,
    charge: expandable,
    payment_intent: expandable,
    amount: minorAmount,
    status: openString,
  })
  .passthrough()

export const invoiceObject = z
  .object({
    id: stripeId,
    customer: expandable,
    billing_reason: openString,
    amount_paid: minorAmount,
    parent: z
      .object({ subscription_details: z.object({ subscription: expandable, metadata }).passthrough().nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough()
  // Before API version 2025-03-31 an invoice named its subscription at the top level, with no
  // `parent`: read as today's shape it would look like no monthly gift's invoice and be ignored.
  // It is refused, so the inbox parks it where staff see it, not acknowledged and forgotten.
  .superRefine((invoice, context) => {
    if (invoice.parent == null && typeof (invoice as { subscription?: unknown }).subscription === 'string') {
      context.addIssue({ code: z.ZodIssueCode.custom, path: ['subscription'], message: 'an older API version: the webhook endpoint must use the pinned one' })
    }
  })

export const invoicePaymentObject = z
  .object({
    invoice: expandable,
    payment: z.object({ payment_intent: expandable }).passthrough().nullish(),
  })
  .passthrough()

export const subscriptionObject = z.object({ id: stripeId, metadata }).passthrough()

export const paymentIntentObject = z.object({ id: stripeId, metadata }).passthrough()

export type CheckoutSessionObject = z.infer<typeof checkoutSessionObject>
export type ChargeObject = z.infer<typeof chargeObject>
export type DisputeObject = z.infer<typeof disputeObject>
export type InvoiceObject = z.infer<typeof invoiceObject>
export type InvoicePaymentObject = z.infer<typeof invoicePaymentObject>
export type SubscriptionObject = z.infer<typeof subscriptionObject>
export type PaymentIntentObject = z.infer<typeof paymentIntentObject>

/** The schema for each event type we act on; any other type is acknowledged unread. */
const objectOfType = {
  'checkout.session.completed': checkoutSessionObject,
  'checkout.session.async_payment_succeeded': checkoutSessionObject,
  'checkout.session.async_payment_failed': checkoutSessionObject,
  'checkout.session.expired': checkoutSessionObject,
  'charge.refunded': chargeObject,
  'charge.dispute.created': disputeObject,
  'charge.dispute.updated': disputeObject,
  'charge.dispute.funds_withdrawn': disputeObject,
  'charge.dispute.funds_reinstated': disputeObject,
  'charge.dispute.closed': disputeObject,
  'invoice.paid': invoiceObject,
  'invoice_payment.paid': invoicePaymentObject,
  'invoice.payment_failed': invoiceObject,
  'customer.subscription.deleted': subscriptionObject,
  'payment_intent.payment_failed': paymentIntentObject,
} as const

export type HandledEventType = keyof typeof objectOfType

/** A signed event of a type we act on whose object does not have the shape we read. */
export class MalformedStripeEvent extends Error {
  constructor(
    readonly type: string,
    readonly issues: string[],
  ) {
    super(`Malformed ${type} object: ${issues.join('; ')}`)
    this.name = 'MalformedStripeEvent'
  }
}

/**
 * The event's object checked against its type's schema, or null for a type we do not act on.
 * Throws MalformedStripeEvent (naming only field paths, never values) when it does not fit.
 */
export function readEventObject(type: string, object: unknown) {
  if (!Object.hasOwn(objectOfType, type)) return null
  const handled = type as HandledEventType
  const parsed = objectOfType[handled].safeParse(object)
  if (!parsed.success) {
    throw new MalformedStripeEvent(
      type,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(object)'}: ${issue.code === 'custom' ? issue.message : issue.code}`),
    )
  }
  return { type: handled, object: parsed.data } as ReadEventObject
}

/** Each handled type with its own object's type, so a switch on `type` narrows `object`. */
export type ReadEventObject = {
  [Type in HandledEventType]: { type: Type; object: z.infer<(typeof objectOfType)[Type]> }
}[HandledEventType]
