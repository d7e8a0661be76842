import { expect, test } from 'vitest'
import { MalformedStripeEvent, readEventObject } from '#app/modules/payments/stripe-event-objects.server.ts'

const session = {
  id: 'cs_test_a1',
  object: 'checkout.session',
  mode: 'subscription',
  payment_status: 'paid',
  amount_total: 2500,
  client_reference_id: null,
  metadata: { donation_id: '0b7f0d57-2f4b-4c61-9d43-0c1a4c7bb1f9' },
  payment_intent: null,
  invoice: { id: 'in_1', object: 'invoice' },
  subscription: 'sub_1',
  customer: { id: 'cus_1', object: 'customer', deleted: true },
}

test('objects as Stripe sends them are read, with fields we do not check kept as they came', () => {
  const read = readEventObject('checkout.session.completed', { ...session, currency: 'gbp', custom_fields: [] })
  expect(read).toMatchObject({ type: 'checkout.session.completed', object: { id: 'cs_test_a1', invoice: { id: 'in_1' }, currency: 'gbp', custom_fields: [] } })
  expect(readEventObject('invoice_payment.paid', { id: 'inpay_1', invoice: 'in_1', payment: { type: 'payment_intent', payment_intent: 'pi_1' } })).not.toBeNull()
  expect(readEventObject('invoice.paid', { id: 'in_1', amount_paid: 0, customer: null, billing_reason: 'subscription_cycle', parent: null })).not.toBeNull()
})

test('what staff may write in the Dashboard (long notes, emoji) does not make an event unreadable', () => {
  const note = '😀'.repeat(500)
  expect(readEventObject('customer.subscription.deleted', { id: 'sub_1', metadata: { note, recurring_plan_id: 'x' } })).not.toBeNull()
  expect(readEventObject('checkout.session.completed', { ...session, client_reference_id: 'r'.repeat(400), metadata: { ...session.metadata, note } })).not.toBeNull()
})

test('an object of the wrong shape is refused, naming the fields and never their values', () => {
  const refuse = (type: string, object: unknown) => {
    try {
      readEventObject(type, object)
    } catch (error) {
      expect(error).toBeInstanceOf(MalformedStripeEvent)
      return (error as MalformedStripeEvent).issues
    }
    throw new Error(`${type} was read`)
  }
  expect(refuse('invoice_payment.paid', { invoice: { id: [] }, payment: { payment_intent: 'pi_1' } })).toEqual(['invoice: invalid_union'])
  expect(refuse('charge.refunded', { id: 'ch_1', amount: 'all of it', amount_refunded: -1, payment_intent: 'pi_secret' })).toEqual(['amount: invalid_type', 'amount_refunded: too_small'])
  expect(refuse('checkout.session.completed', { ...session, metadata: { donation_id: 7 } })).toEqual(['metadata.donation_id: invalid_type'])
  expect(refuse('customer.subscription.deleted', 'sub_1')).toEqual(['(object): invalid_type'])
  expect(JSON.stringify(refuse('charge.dispute.created', { id: 'dp_1', amount: 1.5, payment_intent: 'pi_secret', status: 'lost' }))).not.toContain('pi_secret')
})

test('types we do not act on are not read at all', () => {
  expect(readEventObject('customer.created', { anything: [] })).toBeNull()
  expect(readEventObject('toString', {})).toBeNull()
})
