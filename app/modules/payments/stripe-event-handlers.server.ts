import { sql } from 'kysely'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import {
  confirmDonation,
  markDonation,
  recordCheckoutSession,
  recordDispute,
  recordDonationEvent,
  recordRefund,
  type DonationToConfirm,
} from '#app/modules/donations/ledger.server.ts'
import {
  readEventObject,
  type ChargeObject,
  type CheckoutSessionObject,
  type DisputeObject,
  type InvoiceObject,
  type InvoicePaymentObject,
  type PaymentIntentObject,
  type SubscriptionObject,
} from './stripe-event-objects.server.ts'
import type { StripeEvent } from './stripe.server.ts'
import { activatePlan, abandonPendingPlan, findPlan, donationForInvoice, markPlanPastDue, endPlan } from '#app/modules/donations/monthly-gifts.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { expireHeldRegistration, confirmPaidRegistration, recordTicketRefund } from '#app/modules/registrations/paid-tickets.server.ts'

type Trx = DatabaseTransaction
type SessionEventType =
  | 'checkout.session.completed'
  | 'checkout.session.async_payment_succeeded'
  | 'checkout.session.async_payment_failed'
  | 'checkout.session.expired'

/**
 * Applies one Stripe event inside the caller's transaction (the inbox's applier, one event at a
 * time): takes the locks of what it is about, then changes donations, plans, places and the
 * ledger. An event about a payment we do not know yet marks its inbox row `waiting` and is applied
 * by the event that introduces the payment (applyWaitingEvents). Throws MalformedStripeEvent when
 * the object is not the shape we read; anything thrown rolls the whole event back.
 */
export async function applyStripeEvent(trx: Trx, event: StripeEvent): Promise<void> {
  await dispatch(trx, event)
}

async function dispatch(trx: Trx, event: StripeEvent) {
  const occurredAt = new Date(event.created * 1000)
  const read = readEventObject(event.type, event.data.object)
  // Types we do not act on are acknowledged so Stripe stops sending them.
  if (!read) return
  await lockSubject(trx, read)
  switch (read.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired':
      // A session for a ticket carries its registration; every other session is a donation's.
      if (read.object.metadata?.registration_id !== undefined) return ticketSessionEvent(trx, read.type, read.object, event.id)
      return donationSessionEvent(trx, read.type, read.object, event.id, occurredAt)
    case 'charge.refunded':
      return chargeRefunded(trx, event, read.object, occurredAt)
    case 'charge.dispute.created':
    case 'charge.dispute.updated':
    case 'charge.dispute.funds_withdrawn':
    case 'charge.dispute.funds_reinstated':
    case 'charge.dispute.closed':
      return disputeChanged(trx, event, read.type, read.object, occurredAt)
    case 'invoice.paid':
      return invoicePaid(trx, read.object, event.id, occurredAt)
    case 'invoice_payment.paid':
      return invoicePaymentPaid(trx, read.object)
    case 'invoice.payment_failed':
      return invoiceFailed(trx, read.object)
    case 'customer.subscription.deleted':
      return subscriptionEnded(trx, read.object, occurredAt)
    case 'payment_intent.payment_failed':
      return paymentDeclined(trx, read.object, event.id)
  }
}

/**
 * A card declined inside a donation's Checkout (the session stays open for another try): noted in
 * the gift's history, where the card-testing defence counts it against the address it came from.
 */
async function paymentDeclined(trx: Trx, paymentIntent: PaymentIntentObject, eventId: string) {
  const donationId = paymentIntent.metadata?.donation_id
  if (!donationId || !(await donationExists(trx, donationId))) return
  await recordDonationEvent(trx, donationId, 'payment_declined', {}, eventId)
}

/**
 * One payment's events apply one at a time: before anything is read or written, an event takes
 * the advisory locks of what it is about (its invoice, donation and payment), all in one
 * statement and in one global order (lockNames), always before any row lock, so two events, or two
 * batches of events (lockSubjectsOf), can wait for each other but never deadlock over them. A
 * subscription's checkout and its first `invoice.paid` arrive together and both change the same
 * plan and donation: the session locks its invoice as `invoice.paid` does.
 */
async function lockSubject(trx: Trx, read: NonNullable<ReturnType<typeof readEventObject>>) {
  await lockNames(trx, subjectLockNames(read))
  // An invoice's payment is known only once `invoice_payment.paid` has been applied: its lock
  // comes after the invoice's, which makes that event (invoice, then payment) wait or be seen.
  const invoiceId = invoiceWhosePaymentIsLooked(read)
  if (!invoiceId) return
  const paid = await trx.selectFrom('invoice_payments').select('payment_intent_id').where('invoice_id', '=', invoiceId).executeTakeFirst()
  const paymentName = paymentLock(paid?.payment_intent_id ?? null)
  if (paymentName) await lockNames(trx, [paymentName])
}

/**
 * Takes, before a batch of events is applied in one transaction, the locks each of them will
 * take: all at once and in the global order, so two batches sharing a payment wait rather than
 * deadlock. Each event's own lockSubject then finds its locks held already.
 */
export async function lockSubjectsOf(trx: Trx, events: StripeEvent[]) {
  const names = events.flatMap((event) => {
    const read = readEventObject(event.type, event.data.object)
    return read ? subjectLockNames(read) : []
  })
  await lockNames(trx, names)
  // With every payment's lock held, no other transaction can make an event wait for one of them
  // (an event waits only under its payment's lock), so one look now answers applyWaitingEvents
  // for the whole batch: a completion with nothing waiting costs no statement.
  const payments = [...new Set(names.filter((name) => name.startsWith(PAYMENT_LOCK_PREFIX)).map((name) => name.slice(PAYMENT_LOCK_PREFIX.length)))]
  if (payments.length === 0) return
  const waiting = await trx
    .selectFrom('stripe_inbox')
    .select('waits_for')
    .distinct()
    .where('state', '=', 'waiting')
    .where('waits_for', 'in', payments)
    .execute()
  const withWaiting = new Set(waiting.map((row) => row.waits_for))
  paymentsWithNothingWaiting.set(trx, new Set(payments.filter((payment) => !withWaiting.has(payment))))
}

/**
 * Payments a batch's transaction knows no event waits for (lockSubjectsOf), until one of its own
 * events makes one wait (waitForPayment).
 */
const paymentsWithNothingWaiting = new WeakMap<Trx, Set<string>>()

/** The advisory locks an event takes before it reads anything (lockSubject). */
function subjectLockNames(read: NonNullable<ReturnType<typeof readEventObject>>): string[] {
  const names: Array<string | null> = []
  switch (read.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired': {
      // Two sessions of one donation, paid with two payments, are about the same gift: the
      // second must see that the first confirmed it (a second payment, not a lost one); the
      // completions carry two different payment intents, so the payment's lock alone would let
      // them pass each other.
      const invoiceId = idOf(read.object.invoice)
      const donationId = donationIdOf(read.object)
      names.push(
        invoiceId && invoiceLock(invoiceId),
        donationId && isUuid(donationId) ? `donation:${donationId}` : null,
        paymentLock(idOf(read.object.payment_intent)),
        planLock(read.object.metadata?.recurring_plan_id),
      )
      break
    }
    case 'invoice.paid':
      names.push(invoiceLock(read.object.id), planLock(subscriptionOf(read.object).metadata.recurring_plan_id))
      break
    case 'invoice_payment.paid': {
      const invoiceId = idOf(read.object.invoice)
      names.push(invoiceId && invoiceLock(invoiceId), paymentLock(idOf(read.object.payment?.payment_intent)))
      break
    }
    case 'charge.refunded':
    case 'charge.dispute.created':
    case 'charge.dispute.updated':
    case 'charge.dispute.funds_withdrawn':
    case 'charge.dispute.funds_reinstated':
    case 'charge.dispute.closed':
      names.push(paymentLock(idOf(read.object.payment_intent)))
      break
    case 'payment_intent.payment_failed':
      names.push(paymentLock(read.object.id))
      break
    case 'invoice.payment_failed':
      // It changes only the plan's status: no money moves, nothing waits for it.
      names.push(planLock(subscriptionOf(read.object).metadata.recurring_plan_id))
      break
    case 'customer.subscription.deleted':
      names.push(planLock(read.object.metadata?.recurring_plan_id))
      break
  }
  return names.filter((name): name is string => name !== null && name !== '')
}

/** The invoice whose payment (once `invoice_payment.paid` has named it) an event also locks. */
function invoiceWhosePaymentIsLooked(read: NonNullable<ReturnType<typeof readEventObject>>): string | null {
  switch (read.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired':
      return idOf(read.object.invoice)
    case 'invoice.paid':
      return read.object.id
    default:
      return null
  }
}



/**
 * `invoice.paid` (or the checkout's completion) and `invoice_payment.paid` for one invoice, at the
 * same moment, would each miss the other's uncommitted row and leave the gift without its payment
 * intent; taking this lock first (lockSubject, before any row) makes the second wait for the first.
 */
function invoiceLock(invoiceId: string) {
  return `invoice:${invoiceId}`
}

/**
 * A monthly gift's plan row is changed by its checkout, its invoices, a failed payment and its end.
 * Two batches that each touch two plans, in opposite orders, would lock their rows crosswise and
 * deadlock; PostgreSQL then noticed only after `deadlock_timeout` (1 s) and both batches were
 * redone event by event. With the plan's lock among those a batch takes first, in the one order,
 * the second batch waits instead. Our checkouts name the plan in every object's metadata.
 */
function planLock(planId: string | null | undefined) {
  return planId && isUuid(planId) ? `plan:${planId}` : null
}

/**
 * Two events of one payment delivered at the same instant (its completion and its refund, say)
 * must not each miss the other's uncommitted row: the refund would find no confirmed donation and
 * wait in the inbox, while the completion looked for waiting events before that wait
 * was committed, and the refund was never applied. Taking this lock before reading anything about
 * the payment makes the second event wait for the first's commit, so it sees what the first did.
 * A lock taken again in the same transaction (a waiting event applied now) is already held.
 */
function paymentLock(paymentIntentId: string | null) {
  return paymentIntentId ? `${PAYMENT_LOCK_PREFIX}${paymentIntentId}` : null
}
const PAYMENT_LOCK_PREFIX = 'payment:'

/** The advisory locks each transaction holds (they last until it ends), so none is asked for twice. */
const locksHeld = new WeakMap<Trx, Set<string>>()

/**
 * Takes transaction-scoped advisory locks in one statement, in the order of their 64-bit hashes
 * (the locks themselves), whoever asks: one order for every transaction is what rules out a
 * deadlock between them. A lock this transaction holds already (a batch took its events' locks
 * first, or a waiting event is applied by the one it waited for) costs no round trip.
 */
async function lockNames(trx: Trx, names: string[]) {
  let held = locksHeld.get(trx)
  if (!held) locksHeld.set(trx, (held = new Set()))
  const wanted = [...new Set(names)].filter((name) => !held.has(name))
  if (wanted.length === 0) return
  for (const name of wanted) held.add(name)
  await sql`
    select count(pg_advisory_xact_lock(lock)) from (
      select distinct hashtextextended(name, 0) as lock from unnest(${wanted}::text[]) as name order by lock
    ) as ordered`.execute(trx)
}

async function donationSessionEvent(trx: Trx, type: SessionEventType, session: CheckoutSessionObject, eventId: string, occurredAt: Date) {
  switch (type) {
    case 'checkout.session.completed':
      return sessionCompleted(trx, session, eventId, occurredAt)
    case 'checkout.session.async_payment_succeeded':
      return sessionPaid(trx, session, eventId, occurredAt)
    case 'checkout.session.async_payment_failed': {
      const donationId = donationIdOf(session)
      if (donationId && (await donationExists(trx, donationId))) await markDonation(trx, donationId, 'failed', eventId)
      return
    }
    case 'checkout.session.expired':
      return sessionExpired(trx, session, eventId)
  }
}

async function ticketSessionEvent(trx: Trx, type: SessionEventType, session: CheckoutSessionObject, eventId: string) {
  const registrationId = session.metadata?.registration_id ?? ''
  if (!isUuid(registrationId)) {
    getLogger().warn({ eventId }, 'Checkout Session for an unknown registration')
    return
  }
  const payment = { paymentIntentId: idOf(session.payment_intent), checkoutSessionId: session.id }
  switch (type) {
    case 'checkout.session.completed':
      // An unpaid completion (a bank debit) keeps the hold; async_payment_succeeded confirms it.
      if (session.payment_status === 'paid') await confirmTicket(trx, registrationId, payment)
      return
    case 'checkout.session.async_payment_succeeded':
      await confirmTicket(trx, registrationId, payment)
      return
    case 'checkout.session.expired':
      await expireHeldRegistration(trx, registrationId)
      return
    case 'checkout.session.async_payment_failed':
      // A failed bank debit leaves the hold to end at its deadline.
      return
  }
}

/** A ticket's refund that arrived before its payment's confirmation waited for it: it applies now. */
async function confirmTicket(trx: Trx, registrationId: string, payment: { paymentIntentId: string | null; checkoutSessionId: string }) {
  await confirmPaidRegistration(trx, registrationId, payment)
  if (payment.paymentIntentId) await applyWaitingEvents(trx, payment.paymentIntentId)
}

function donationIdOf(session: CheckoutSessionObject): string | null {
  return session.metadata?.donation_id ?? session.client_reference_id ?? null
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null
  return typeof value === 'string' ? value : value.id
}

async function donationExists(trx: Trx, donationId: string) {
  if (!isUuid(donationId)) return false
  return (await trx.selectFrom('donations').select('id').where('id', '=', donationId).executeTakeFirst()) !== undefined
}

async function sessionCompleted(trx: Trx, session: CheckoutSessionObject, eventId: string, occurredAt: Date) {
  const donationId = donationIdOf(session)
  const customerId = idOf(session.customer)
  // Records the session's ids, finds out whether the donation exists and reads what confirming
  // it needs, in one statement.
  const known = isUuid(donationId) ? await recordCheckoutSession(trx, donationId, { sessionId: session.id, customerId }) : undefined
  if (!donationId || !known) {
    getLogger().warn({ eventId }, 'Checkout Session for an unknown donation')
    return
  }
  if (session.mode === 'subscription') {
    const subscriptionId = idOf(session.subscription)
    await activatePlan(trx, { planId: session.metadata?.recurring_plan_id, donationId, subscriptionId, customerId, occurredAt })
  }
  // A subscription's plan was just activated: the donation's row is read again when confirmed.
  if (session.payment_status === 'paid') return confirmSession(trx, known, session, eventId, occurredAt, session.mode === 'subscription' ? undefined : known)
  if (session.payment_status === 'unpaid') await markDonation(trx, donationId, 'processing', eventId)
}

async function sessionPaid(trx: Trx, session: CheckoutSessionObject, eventId: string, occurredAt: Date) {
  const donationId = donationIdOf(session)
  if (!donationId || !isUuid(donationId)) return
  const donation = await trx.selectFrom('donations').select(['id', 'status', 'stripe_payment_intent_id']).where('id', '=', donationId).executeTakeFirst()
  if (donation) await confirmSession(trx, donation, session, eventId, occurredAt)
}

/** A session's donation as it was when its event began to apply. */
type SessionDonation = { id: string; status: string; stripe_payment_intent_id: string | null }

async function confirmSession(
  trx: Trx,
  sessionDonation: SessionDonation,
  session: CheckoutSessionObject,
  eventId: string,
  occurredAt: Date,
  alreadyRead?: DonationToConfirm,
) {
  const paymentIntentId = idOf(session.payment_intent)
  const invoiceId = idOf(session.invoice)
  const donationId = await donationForSessionPayment(trx, sessionDonation, session, eventId)
  const chargeObjectId = paymentIntentId ?? invoiceId ?? session.id
  await confirmDonation(trx, donationId, {
    chargeObjectId,
    chargedMinor: session.amount_total ?? 0,
    paymentIntentId,
    invoiceId: session.mode === 'subscription' ? invoiceId : null,
    occurredAt,
    stripeEventId: eventId,
  }, alreadyRead)
  if (paymentIntentId) await applyWaitingEvents(trx, paymentIntentId)
  else if (session.mode === 'subscription' && invoiceId) await linkInvoicePayment(trx, donationId, invoiceId)
}

/**
 * The donation a paid session's money belongs to. Usually the session's own; but when that
 * donation was already confirmed by another payment (the donor went back and paid in a second
 * Checkout Session), the money is real and must not vanish: it becomes a donation of its own,
 * a copy of the first marked `second_payment_of`, confirmed with its own ledger entry and receipt,
 * shown to staff with a one-click refund, and found by its refund when that comes.
 */
async function donationForSessionPayment(trx: Trx, current: SessionDonation, session: CheckoutSessionObject, eventId: string): Promise<string> {
  const donationId = current.id
  const paymentIntentId = idOf(session.payment_intent)
  if (session.mode === 'subscription' || !paymentIntentId) return donationId
  if (current.status !== 'confirmed' || current.stripe_payment_intent_id === null || current.stripe_payment_intent_id === paymentIntentId) return donationId
  const already = await trx.selectFrom('donations').select('id').where('stripe_payment_intent_id', '=', paymentIntentId).executeTakeFirst()
  if (already) return already.id
  const second = await trx
    .insertInto('donations')
    .columns([
      'appeal_id', 'supporter_id', 'frequency', 'amount_minor', 'fee_cover_minor', 'currency', 'status', 'donor_name', 'donor_email',
      'message', 'show_name', 'show_amount', 'show_message', 'updates_opt_in', 'gift_aid_declaration_id', 'stripe_checkout_session_id',
      'stripe_customer_id', 'second_payment_of',
    ])
    .expression((eb) =>
      eb
        .selectFrom('donations')
        .select([
          'appeal_id', 'supporter_id', 'frequency', 'amount_minor', 'fee_cover_minor', 'currency', eb.val('pending').as('status'), 'donor_name',
          'donor_email', 'message', 'show_name', 'show_amount', 'show_message', 'updates_opt_in', 'gift_aid_declaration_id',
          eb.val(session.id).as('stripe_checkout_session_id'), eb.val(idOf(session.customer)).as('stripe_customer_id'), 'id',
        ])
        .where('id', '=', donationId),
    )
    .returning('id')
    .executeTakeFirstOrThrow()
  await recordDonationEvent(trx, second.id, 'second_payment', { firstDonationId: donationId }, eventId)
  getLogger().warn({ donationId, secondDonationId: second.id, eventId }, 'A donation was paid twice: the second payment is a gift of its own, for staff to refund')
  return second.id
}


async function sessionExpired(trx: Trx, session: CheckoutSessionObject, eventId: string) {
  const donationId = donationIdOf(session)
  if (!donationId || !(await donationExists(trx, donationId))) return
  await markDonation(trx, donationId, 'abandoned', eventId)
  await abandonPendingPlan(trx, session.metadata?.recurring_plan_id)
}

/** Finds the donation a payment intent paid for, or keeps the event until that payment is confirmed. */
async function donationForPayment(trx: Trx, event: StripeEvent, paymentIntentId: string | null) {
  if (!paymentIntentId) return null
  // A ticket's payment (our own refund of a late one, say) is not a donation's, and never will be.
  const ticket = await trx.selectFrom('registrations').select('id').where('stripe_payment_intent_id', '=', paymentIntentId).executeTakeFirst()
  if (ticket) return null
  const donation = await trx
    .selectFrom('donations')
    .select(['id', 'status'])
    .where('stripe_payment_intent_id', '=', paymentIntentId)
    .executeTakeFirst()
  if (donation?.status === 'confirmed') return donation.id
  await waitForPayment(trx, event.id, paymentIntentId)
  return null
}

/**
 * Keeps an event until its payment is known: its inbox row waits, keyed by the payment intent,
 * and the event that confirms that payment applies it in its own transaction (applyWaitingEvents).
 */
async function waitForPayment(trx: Trx, eventId: string, paymentIntentId: string) {
  paymentsWithNothingWaiting.get(trx)?.delete(paymentIntentId)
  await trx
    .updateTable('stripe_inbox')
    .set({ state: 'waiting', waits_for: paymentIntentId })
    .where('event_id', '=', eventId)
    .execute()
}

/**
 * What the inbox keeps of an event: its ids, amounts and statuses, never who paid. A refund or
 * dispute of a payment we never see (another integration's, or a test from the Dashboard) may
 * wait until the retention job forgets it, and it must not hold a stranger's name, email or
 * address meanwhile (ADR 011); nor does any other event need them, since a donation's details come
 * from our own form. These are where Stripe puts personal data on the objects we receive.
 */
const PERSONAL_FIELDS = [
  'billing_details',
  'receipt_email',
  'shipping',
  'shipping_details',
  'customer_details',
  'customer_email',
  'customer_name',
  'customer_address',
  'customer_phone',
  'customer_shipping',
  'customer_tax_ids',
  'collected_information',
  'evidence',
  'payment_method_details',
]

export function withoutPersonalData(event: StripeEvent): StripeEvent {
  const object = { ...(event.data.object as unknown as Record<string, unknown>) }
  for (const field of PERSONAL_FIELDS) delete object[field]
  return { ...event, data: { ...event.data, object } } as unknown as StripeEvent
}

async function applyWaitingEvents(trx: Trx, paymentIntentId: string) {
  if (paymentsWithNothingWaiting.get(trx)?.has(paymentIntentId)) return
  const waiting = await trx
    .updateTable('stripe_inbox')
    .set({ state: 'applied', waits_for: null, applied_at: new Date() })
    .where('state', '=', 'waiting')
    .where('waits_for', '=', paymentIntentId)
    .where('payload', 'is not', null)
    .returning(['payload'])
    .execute()
  const events = waiting.map((row) => JSON.parse(row.payload!) as StripeEvent).sort((a, b) => a.created - b.created)
  for (const event of events) await dispatch(trx, event)
}

async function chargeRefunded(trx: Trx, event: StripeEvent, charge: ChargeObject, occurredAt: Date) {
  if (await recordTicketRefund(trx, idOf(charge.payment_intent), charge)) return
  const donationId = await donationForPayment(trx, event, idOf(charge.payment_intent))
  if (!donationId) return
  await recordRefund(trx, donationId, {
    chargeId: charge.id,
    amountRefundedMinor: charge.amount_refunded,
    stripeEventId: event.id,
    occurredAt,
  })
}

async function disputeChanged(
  trx: Trx,
  event: StripeEvent,
  type: DisputeEventType,
  dispute: DisputeObject,
  occurredAt: Date,
) {
  const donationId = await donationForPayment(trx, event, idOf(dispute.payment_intent))
  if (!donationId) return
  const outcome = disputeOutcome(type, dispute.status ?? '')
  const { released } = await recordDispute(trx, donationId, { disputeId: dispute.id, amountMinor: dispute.amount, outcome, stripeEventId: event.id, occurredAt })
  // Once per dispute: the release is keyed by the dispute, so only the event that made it refunds.
  if (outcome === 'prevented' && released) await recordPreventedDispute(trx, donationId, event.id, dispute, occurredAt)
}

/**
 * A prevented dispute (the card network's rapid resolution) gave the money back to the
 * cardholder: it counts as refunded. The charge's own `charge.refunded` may report the same
 * refund before or after, cumulatively; so the refund recorded here is what was refunded before
 * plus the dispute's amount, never more than was charged, and the charge's event then adds only
 * what goes beyond it.
 */
async function recordPreventedDispute(trx: Trx, donationId: string, eventId: string, dispute: DisputeObject, occurredAt: Date) {
  const donation = await trx
    .selectFrom('donations')
    .select(['refunded_minor', 'stripe_charge_id'])
    .select((eb) =>
      eb
        .selectFrom('ledger_entries')
        .select((inner) => inner.fn.coalesce(inner.fn.sum<number>('amount_minor'), inner.lit(0)).as('charged'))
        .where('donation_id', '=', donationId)
        .where('kind', '=', 'charge')
        .as('charged'),
    )
    .where('id', '=', donationId)
    .executeTakeFirstOrThrow()
  const charged = Number(donation.charged ?? 0)
  const chargeId = idOf(dispute.charge) ?? donation.stripe_charge_id ?? dispute.id
  await recordRefund(trx, donationId, {
    chargeId,
    amountRefundedMinor: Math.min(charged, donation.refunded_minor + dispute.amount),
    stripeEventId: eventId,
    occurredAt,
  })
}

type DisputeEventType =
  | 'charge.dispute.created'
  | 'charge.dispute.updated'
  | 'charge.dispute.funds_withdrawn'
  | 'charge.dispute.funds_reinstated'
  | 'charge.dispute.closed'

/**
 * What a dispute event means for the money, whatever order they arrive in. An inquiry
 * (`warning_needs_response`, `warning_under_review`) withholds nothing, and `warning_closed` ends
 * one that never escalated. Once funds are withdrawn (a dispute proper, or an inquiry that
 * escalated) the amount is held; winning, or funds reinstated, releases it; losing keeps it.
 * `prevented` (the card network's rapid resolution) refunded the cardholder: released, and
 * counted as a refund. A status we do not know yet is treated as money withdrawn: holding too much shows until Stripe
 * says more, where holding too little would report money the charity no longer has.
 */
export function disputeOutcome(type: DisputeEventType, status: string): 'inquiry' | 'open' | 'won' | 'lost' | 'prevented' {
  if (status === 'prevented') return 'prevented'
  if (type === 'charge.dispute.funds_reinstated') return 'won'
  if (type === 'charge.dispute.funds_withdrawn') return 'open'
  if (status.startsWith('warning_')) return 'inquiry'
  if (status === 'won') return 'won'
  if (status === 'lost') return 'lost'
  return 'open'
}

function subscriptionOf(invoice: InvoiceObject) {
  const details = invoice.parent?.subscription_details
  return { subscriptionId: idOf(details?.subscription ?? null), metadata: details?.metadata ?? {} }
}

async function invoicePaid(trx: Trx, invoice: InvoiceObject, eventId: string, occurredAt: Date) {
  const { subscriptionId, metadata } = subscriptionOf(invoice)
  const plan = await findPlan(trx, { planId: metadata.recurring_plan_id, subscriptionId })
  if (!plan) {
    getLogger().warn({ eventId }, 'Paid invoice for an unknown monthly gift')
    return
  }
  const customerId = idOf(invoice.customer)
  await activatePlan(trx, { planId: plan.id, subscriptionId, customerId, occurredAt })
  const donationId = await donationForInvoice(trx, plan.id, {
    invoiceId: invoice.id,
    createdWithSubscription: invoice.billing_reason === 'subscription_create',
    subscriptionId,
    customerId,
    stripeEventId: eventId,
  })
  await confirmDonation(trx, donationId, {
    chargeObjectId: invoice.id,
    chargedMinor: invoice.amount_paid,
    paymentIntentId: null,
    invoiceId: invoice.id,
    occurredAt,
    stripeEventId: eventId,
  })
  await linkInvoicePayment(trx, donationId, invoice.id)
}



/**
 * Gives a donation paid by an invoice the payment intent that paid it, if its own event came
 * first (refunds and disputes name only the payment intent), and applies what waited for it.
 */
async function linkInvoicePayment(trx: Trx, donationId: string, invoiceId: string) {
  const paid = await trx.selectFrom('invoice_payments').select('payment_intent_id').where('invoice_id', '=', invoiceId).executeTakeFirst()
  if (!paid) return
  await trx
    .updateTable('donations')
    .set({ stripe_payment_intent_id: paid.payment_intent_id, updated_at: new Date() })
    .where('id', '=', donationId)
    .where('stripe_payment_intent_id', 'is', null)
    .execute()
  await applyWaitingEvents(trx, paid.payment_intent_id)
}

/**
 * Which payment intent paid an invoice, in either order with `invoice.paid`: kept, and given to
 * the instalment's donation if it is already there, so a refund or dispute of it (waiting, or
 * still to come) finds its donation.
 */
async function invoicePaymentPaid(trx: Trx, invoicePayment: InvoicePaymentObject) {
  const paymentIntentId = idOf(invoicePayment.payment?.payment_intent)
  const invoiceId = idOf(invoicePayment.invoice)
  if (!paymentIntentId || !invoiceId) return
  await trx
    .insertInto('invoice_payments')
    .values({ payment_intent_id: paymentIntentId, invoice_id: invoiceId })
    .onConflict((oc) => oc.column('payment_intent_id').doNothing())
    .execute()
  const donation = await trx
    .updateTable('donations')
    .set({ stripe_payment_intent_id: paymentIntentId, updated_at: new Date() })
    .where('stripe_invoice_id', '=', invoiceId)
    .where('stripe_payment_intent_id', 'is', null)
    .returning('status')
    .executeTakeFirst()
  if (donation?.status === 'confirmed') await applyWaitingEvents(trx, paymentIntentId)
}

async function invoiceFailed(trx: Trx, invoice: InvoiceObject) {
  const { subscriptionId, metadata } = subscriptionOf(invoice)
  const plan = await findPlan(trx, { planId: metadata.recurring_plan_id, subscriptionId })
  if (plan) await markPlanPastDue(trx, plan.id)
}

async function subscriptionEnded(trx: Trx, subscription: SubscriptionObject, occurredAt: Date) {
  const plan = await findPlan(trx, { planId: subscription.metadata?.recurring_plan_id, subscriptionId: subscription.id })
  if (plan) await endPlan(trx, plan, { subscriptionId: subscription.id, occurredAt })
}
