import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { http, HttpResponse } from 'msw'
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { donationLimits } from '#app/modules/donations/amounts.ts'
import { startCheckout } from '#app/modules/donations/checkout.server.ts'
import type { DonationRequest } from '#app/modules/donations/checkout-request.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { SUPPORTED_CURRENCIES, minorUnitExponent, parseAmountToMinor } from '#app/utils/money.ts'
import { takeSingleton } from '#app/utils/singleton.server.ts'
import { server } from '#tests/mocks/node.ts'
import { clearStripeCalls, recordStripeCall, STRIPE_API, stripeCalls } from '#tests/mocks/stripe.ts'
import { createAppeal, useTestStripe } from './donation-fixtures.ts'

const db = getDb()
const origin = 'http://localhost:3000'

beforeAll(() => useTestStripe())
beforeEach(() => clearStripeCalls())
afterEach(() => {
  delete process.env.CHECKOUT_RATE_LIMIT
  resetEnvForTests()
  takeSingleton('rate-limiter:checkout')
})

function request(appealId: string, overrides: Partial<DonationRequest> = {}): DonationRequest {
  return {
    appealId,
    submissionId: randomUUID(),
    frequency: 'one_off',
    amountMinor: 2_500,
    coverFee: false,
    name: 'Amina Test',
    email: `amina-${randomUUID().slice(0, 6)}@example.org`,
    message: null,
    showName: false,
    showAmount: false,
    showMessage: false,
    updatesOptIn: false,
    giftAid: null,
    ...overrides,
  }
}

const sessionCalls = () => stripeCalls.filter((call) => call.path === '/v1/checkout/sessions')

describe('startCheckout', () => {
  test('writes a pending donation and sends Stripe the whole session, with our idempotency key', async () => {
    const appeal = await createAppeal()
    const outcome = await startCheckout(db, request(appeal.id, { coverFee: true, amountMinor: 2_500 }), { origin, clientIp: '203.0.113.1' })
    expect(outcome.kind).toBe('redirect')
    const donation = await db.selectFrom('donations').selectAll().where('appeal_id', '=', appeal.id).executeTakeFirstOrThrow()
    expect(donation).toMatchObject({ status: 'pending', amount_minor: 2_500, fee_cover_minor: 59, currency: 'GBP' })
    expect(outcome).toEqual({ kind: 'redirect', url: expect.stringMatching(/^https:\/\/checkout\.stripe\.com\//), submissionId: expect.any(String) })
    const [call] = sessionCalls()
    expect(call!.idempotencyKey).toBe(`checkout:${donation.id}`)
    expect(Object.fromEntries(call!.form)).toMatchObject({
      mode: 'payment',
      submit_type: 'donate',
      client_reference_id: donation.id,
      'metadata[donation_id]': donation.id,
      'payment_intent_data[metadata][donation_id]': donation.id,
      'line_items[0][price_data][currency]': 'gbp',
      'line_items[0][price_data][unit_amount]': '2559',
      success_url: `${origin}/donate/thank-you?session_id={CHECKOUT_SESSION_ID}`,
      // Issue 13: Stripe's return lands on the form's notice (an anchor; nothing personal in it).
      cancel_url: `${origin}/appeals/${appeal.slug}?checkout=cancelled#checkout-return`,
    })
    expect(donation.stripe_checkout_session_id).toMatch(/^cs_test_/)
  })

  test('a monthly gift is a subscription with a monthly price and a pending plan', async () => {
    const appeal = await createAppeal()
    await startCheckout(db, request(appeal.id, { frequency: 'monthly', amountMinor: 1_000 }), { origin, clientIp: '203.0.113.2' })
    const form = Object.fromEntries(sessionCalls()[0]!.form)
    expect(form).toMatchObject({ mode: 'subscription', 'line_items[0][price_data][recurring][interval]': 'month' })
    expect(form.submit_type).toBeUndefined()
    const plan = await db.selectFrom('recurring_plans').selectAll().where('appeal_id', '=', appeal.id).executeTakeFirstOrThrow()
    expect(plan).toMatchObject({ status: 'pending', amount_minor: 1_000 })
    expect(form['subscription_data[metadata][recurring_plan_id]']).toBe(plan.id)
  })

  test('a double submit is one donation and one Checkout Session', async () => {
    const appeal = await createAppeal()
    const same = request(appeal.id)
    const outcomes = await Promise.all([
      startCheckout(db, same, { origin, clientIp: '203.0.113.3' }),
      startCheckout(db, same, { origin, clientIp: '203.0.113.3' }),
    ])
    expect(outcomes[0]).toEqual(outcomes[1])
    const donations = await db.selectFrom('donations').select('id').where('appeal_id', '=', appeal.id).execute()
    expect(donations).toHaveLength(1)
    expect(new Set(sessionCalls().map((call) => call.idempotencyKey))).toEqual(new Set([`checkout:${donations[0]!.id}`]))
  })

  test('the same submission back with a changed gift (Back from the payment page without JavaScript) is charged as typed; its double click is one donation', async () => {
    const appeal = await createAppeal()
    const first = request(appeal.id, { amountMinor: 2_500 })
    const at = { origin, clientIp: '203.0.113.5' }
    const started = await startCheckout(db, first, at)
    // The browser's stored copy of the form still carries the first id; the donor types £7.
    const changed = { ...first, amountMinor: 700 }
    const [again, doubleClick] = await Promise.all([startCheckout(db, changed, at), startCheckout(db, changed, at)])
    expect(again).toEqual(doubleClick)
    const donations = await db.selectFrom('donations').select(['id', 'amount_minor']).where('appeal_id', '=', appeal.id).orderBy('created_at').execute()
    expect(donations.map((donation) => donation.amount_minor)).toEqual([2_500, 700])
    expect(again.kind === 'redirect' && started.kind === 'redirect' && again.submissionId !== started.submissionId).toBe(true)
    const charged = sessionCalls().map((call) => Number(call.form.get('line_items[0][price_data][unit_amount]')))
    expect(new Set(charged)).toEqual(new Set([2_500, 700]))
    // The first gift submitted again, unchanged, is still the first donation.
    expect(await startCheckout(db, first, at)).toEqual(started)
    expect(await db.selectFrom('donations').select('id').where('appeal_id', '=', appeal.id).execute()).toHaveLength(2)
  })

  test('the same submission back with changed choices of how the donor is shown is stored as chosen before paying, and never after', async () => {
    const appeal = await createAppeal()
    const first = request(appeal.id, { name: 'Amina Test', showName: true, message: 'For Yusuf', showMessage: true, showAmount: true, updatesOptIn: true })
    const at = { origin, clientIp: '203.0.113.6' }
    const started = await startCheckout(db, first, at)
    // Back from the payment page (the stored form, same id): the donor decides to give anonymously.
    const anonymous = { ...first, showName: false, showMessage: false, showAmount: false, message: null, name: 'A. Test', updatesOptIn: false }
    expect(await startCheckout(db, anonymous, at)).toEqual(started)
    const stored = await db
      .selectFrom('donations')
      .select(['donor_name', 'message', 'show_name', 'show_message', 'show_amount', 'updates_opt_in'])
      .where('appeal_id', '=', appeal.id)
      .execute()
    expect(stored).toEqual([{ donor_name: 'A. Test', message: null, show_name: false, show_message: false, show_amount: false, updates_opt_in: false }])
    // Once Stripe has confirmed the gift, a resubmitted form changes nothing about it.
    await db.updateTable('donations').set({ status: 'confirmed' }).where('appeal_id', '=', appeal.id).execute()
    await startCheckout(db, first, at)
    const after = await db.selectFrom('donations').select(['show_name', 'donor_name']).where('appeal_id', '=', appeal.id).execute()
    expect(after).toEqual([{ show_name: false, donor_name: 'A. Test' }])
  })

  test('Stripe failing, then answering: nothing charged, then the same donation and key get their session', async () => {
    const appeal = await createAppeal()
    let failing = true
    server.use(
      http.post(`${STRIPE_API}/v1/checkout/sessions`, async ({ request: incoming }) => {
        if (!failing) return undefined
        await recordStripeCall(incoming)
        return HttpResponse.json({ error: { type: 'api_error', message: 'Stripe is down' } }, { status: 500 })
      }),
    )
    const same = request(appeal.id)
    const first = await startCheckout(db, same, { origin, clientIp: '203.0.113.4' })
    expect(first.kind).toBe('unavailable')
    failing = false
    const second = await startCheckout(db, same, { origin, clientIp: '203.0.113.4' })
    expect(second.kind).toBe('redirect')
    const donations = await db.selectFrom('donations').select(['id', 'status']).where('appeal_id', '=', appeal.id).execute()
    expect(donations).toHaveLength(1)
    // The SDK's own retries and ours all carry one key, so Stripe can make only one session.
    expect(sessionCalls().length).toBeGreaterThanOrEqual(2)
    expect(new Set(sessionCalls().map((call) => call.idempotencyKey))).toEqual(new Set([`checkout:${donations[0]!.id}`]))
  })

  test('a card-testing burst: after the limit, no call reaches Stripe and nothing is written', async () => {
    process.env.CHECKOUT_RATE_LIMIT = '3'
    resetEnvForTests()
    takeSingleton('rate-limiter:checkout')
    const appeal = await createAppeal()
    const outcomes = []
    for (let attempt = 0; attempt < 8; attempt++) {
      outcomes.push(await startCheckout(db, request(appeal.id, { amountMinor: 200 }), { origin, clientIp: '198.51.100.7' }))
    }
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['redirect', 'redirect', 'redirect', ...Array(5).fill('rate-limited')])
    expect(sessionCalls()).toHaveLength(3)
    expect(await db.selectFrom('donations').select('id').where('appeal_id', '=', appeal.id).execute()).toHaveLength(3)
    // Another address is not held back by this one.
    expect((await startCheckout(db, request(appeal.id), { origin, clientIp: '198.51.100.8' })).kind).toBe('redirect')
  })

  test('a closed appeal takes no gift and calls no one', async () => {
    const appeal = await createAppeal()
    await db.updateTable('appeals').set({ status: 'closed' }).where('id', '=', appeal.id).execute()
    expect(await startCheckout(db, request(appeal.id), { origin, clientIp: '203.0.113.5' })).toEqual({ kind: 'closed' })
    expect(sessionCalls()).toHaveLength(0)
  })
})

describe('amounts reach Stripe in the currency minor unit', () => {
  test('JPY and KRW are not multiplied by 100', async () => {
    for (const [currency, typed, expected] of [
      ['JPY', '3000', 3_000],
      ['KRW', '50000', 50_000],
    ] as const) {
      const appeal = await createAppeal({ currency })
      const amountMinor = parseAmountToMinor(typed, currency)!
      expect(amountMinor).toBe(expected)
      await startCheckout(db, request(appeal.id, { amountMinor }), { origin, clientIp: `192.0.2.${expected % 200}` })
      const form = Object.fromEntries(sessionCalls().at(-1)!.form)
      expect(form['line_items[0][price_data][currency]']).toBe(currency.toLowerCase())
      expect(form['line_items[0][price_data][unit_amount]']).toBe(String(expected))
    }
  })

  test('property: for every supported currency, a typed amount reaches Stripe as exactly its minor units', async () => {
    const appeals = new Map<string, string>()
    let ip = 0
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SUPPORTED_CURRENCIES), fc.double({ min: 0, max: 1, noNaN: true }), async (currency, position) => {
        const { minMinor, maxMinor } = donationLimits(currency)
        const minor = Math.round(minMinor + position * (maxMinor - minMinor))
        const exponent = minorUnitExponent(currency)
        const typed = exponent === 0 ? String(minor) : `${Math.floor(minor / 10 ** exponent)}.${String(minor % 10 ** exponent).padStart(exponent, '0')}`
        const amountMinor = parseAmountToMinor(typed, currency)
        expect(amountMinor).toBe(minor)
        if (!appeals.has(currency)) appeals.set(currency, (await createAppeal({ currency })).id)
        ip += 1
        await startCheckout(db, request(appeals.get(currency)!, { amountMinor: amountMinor! }), { origin, clientIp: `10.0.${Math.floor(ip / 250)}.${ip % 250}` })
        const form = Object.fromEntries(sessionCalls().at(-1)!.form)
        expect(form['line_items[0][price_data][unit_amount]']).toBe(String(minor))
        expect(form['line_items[0][price_data][currency]']).toBe(currency.toLowerCase())
      }),
      { numRuns: 40 },
    )
  })
})
