import { beforeAll, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { completedSession, paidInvoice, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, outboxFor, useTestStripe } from './donation-fixtures.ts'

const db = getDb()
beforeAll(() => useTestStripe())

async function monthlySetup() {
  const appeal = await createAppeal()
  const pending = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000, frequency: 'monthly' })
  const subscription = `sub_${pending.donationId.slice(0, 8)}`
  const session = completedSession({
    donationId: pending.donationId,
    amountMinor: 1_000,
    mode: 'subscription',
    subscription,
    invoice: `in_first_${pending.donationId.slice(0, 6)}`,
    recurringPlanId: pending.recurringPlanId!,
  })
  const firstInvoice = paidInvoice({
    id: `in_first_${pending.donationId.slice(0, 6)}`,
    subscription,
    amountPaidMinor: 1_000,
    billingReason: 'subscription_create',
    recurringPlanId: pending.recurringPlanId!,
  })
  return { appeal, pending, subscription, session, firstInvoice }
}

test('checkout and the first invoice, in either order, are one confirmed gift and one receipt', async () => {
  for (const firstInvoiceFirst of [false, true]) {
    const { appeal, pending, session, firstInvoice } = await monthlySetup()
    const events = [stripeEvent('checkout.session.completed', session), stripeEvent('invoice.paid', firstInvoice)]
    if (firstInvoiceFirst) events.reverse()
    for (const event of events) expect(await deliver(event)).toBe(200)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 1_000, donation_count: 1, donor_count: 1 })
    const plan = await db.selectFrom('recurring_plans').selectAll().where('id', '=', pending.recurringPlanId!).executeTakeFirstOrThrow()
    expect(plan.status).toBe('active')
    const receipts = await outboxFor(pending.email)
    expect(receipts.map((row) => row.template)).toEqual(['monthly-gift-receipt'])
    expect(JSON.stringify(receipts[0]!.props)).toContain('/donate/monthly/stop?plan=')
  }
})

test('each later invoice is a new confirmed gift with its own receipt, once', async () => {
  const { appeal, pending, subscription, session, firstInvoice } = await monthlySetup()
  await deliver(stripeEvent('checkout.session.completed', session))
  await deliver(stripeEvent('invoice.paid', firstInvoice))
  const second = stripeEvent(
    'invoice.paid',
    paidInvoice({ id: 'in_second', subscription, amountPaidMinor: 1_000, billingReason: 'subscription_cycle' }),
  )
  expect(await deliver(second)).toBe(200)
  expect(await deliver({ ...second, id: `${second.id}_redelivered` })).toBe(200)
  expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_000, donation_count: 2, donor_count: 1 })
  const donations = await db.selectFrom('donations').select(['stripe_invoice_id', 'status']).where('recurring_plan_id', '=', pending.recurringPlanId!).orderBy('created_at').execute()
  expect(donations).toEqual([
    { stripe_invoice_id: firstInvoice.id, status: 'confirmed' },
    { stripe_invoice_id: 'in_second', status: 'confirmed' },
  ])
  expect(await outboxFor(pending.email)).toHaveLength(2)
})

test('a failed payment marks the plan past due; the subscription ending stops it and tells the supporter once', async () => {
  const { pending, subscription, session, firstInvoice } = await monthlySetup()
  await deliver(stripeEvent('checkout.session.completed', session))
  await deliver(stripeEvent('invoice.paid', firstInvoice))
  await deliver(stripeEvent('invoice.payment_failed', { ...paidInvoice({ id: 'in_failed', subscription, amountPaidMinor: 0, billingReason: 'subscription_cycle' }), status: 'open' }))
  const plan = () => db.selectFrom('recurring_plans').selectAll().where('id', '=', pending.recurringPlanId!).executeTakeFirstOrThrow()
  expect((await plan()).status).toBe('past_due')
  const ended = stripeEvent('customer.subscription.deleted', { id: subscription, object: 'subscription', status: 'canceled', metadata: { recurring_plan_id: pending.recurringPlanId } })
  await deliver(ended)
  await deliver({ ...ended, id: `${ended.id}_again` })
  expect((await plan()).status).toBe('cancelled')
  const emails = await outboxFor(pending.email)
  expect(emails.filter((email) => email.template === 'monthly-gift-cancelled')).toHaveLength(1)
  // A late invoice for a stopped plan does not bring it back to life.
  await deliver(stripeEvent('invoice.paid', paidInvoice({ id: 'in_late', subscription, amountPaidMinor: 1_000, billingReason: 'subscription_cycle' })))
  expect((await plan()).status).toBe('cancelled')
})

test('a refund of a monthly instalment finds its gift through the invoice payment, in every order of the three events', async () => {
  const { invoicePayment, refundedCharge } = await import('#tests/mocks/stripe.ts')
  const orders = [
    ['invoice', 'payment', 'refund'],
    ['invoice', 'refund', 'payment'],
    ['payment', 'invoice', 'refund'],
    ['payment', 'refund', 'invoice'],
    ['refund', 'invoice', 'payment'],
    ['refund', 'payment', 'invoice'],
  ] as const
  for (const order of orders) {
    const { appeal, pending, subscription, session, firstInvoice } = await monthlySetup()
    expect(await deliver(stripeEvent('checkout.session.completed', session))).toBe(200)
    expect(await deliver(stripeEvent('invoice.paid', firstInvoice))).toBe(200)
    const secondInvoice = paidInvoice({
      id: `in_second_${pending.donationId.slice(0, 6)}`,
      subscription,
      amountPaidMinor: 1_000,
      billingReason: 'subscription_cycle',
      recurringPlanId: pending.recurringPlanId!,
    })
    const paymentIntent = `pi_second_${pending.donationId.slice(0, 6)}`
    const events = {
      invoice: stripeEvent('invoice.paid', secondInvoice),
      payment: stripeEvent('invoice_payment.paid', invoicePayment({ invoice: secondInvoice.id, paymentIntent, amountMinor: 1_000 })),
      refund: stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 1_000, amountRefundedMinor: 400 })),
    }
    for (const name of order) expect(await deliver(events[name])).toBe(200)
    // Delivered again: nothing changes.
    for (const name of order) expect(await deliver(events[name])).toBe(200)

    const totals = await appealTotals(appeal.id)
    expect({ order: order.join(' → '), gross: totals.confirmed_gross_minor, refunded: totals.refunded_minor, donations: totals.donation_count }).toEqual({
      order: order.join(' → '),
      gross: 2_000,
      refunded: 400,
      donations: 2,
    })
    const instalment = await db.selectFrom('donations').select(['refunded_minor', 'stripe_payment_intent_id']).where('stripe_invoice_id', '=', secondInvoice.id).executeTakeFirstOrThrow()
    expect(instalment).toEqual({ refunded_minor: 400, stripe_payment_intent_id: paymentIntent })
    const waiting = await db.selectFrom('stripe_inbox').select('event_id').where('state', '=', 'waiting').where('waits_for', '=', paymentIntent).execute()
    expect(waiting).toEqual([])
  }
})
