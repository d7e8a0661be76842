import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { OFFLINE_WEBHOOK_SECRET } from '#app/modules/payments/stripe.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, TEST_WEBHOOK_SECRET, useTestStripe } from './donation-fixtures.ts'

/**
 * In development without STRIPE_SECRET_KEY (offline checkout), the webhook takes both secrets:
 * the offline checkout's own, and the configured STRIPE_WEBHOOK_SECRET (say, `stripe listen`
 * forwarding test-mode events to a laptop). Anything else is still refused.
 */

const db = getDb()

beforeAll(() => {
  delete process.env.STRIPE_SECRET_KEY
  process.env.STRIPE_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
  resetEnvForTests()
})
afterAll(() => useTestStripe())

async function completion() {
  const appeal = await createAppeal()
  const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
  return { donationId, event: stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500 })) }
}

async function status(donationId: string) {
  return (await db.selectFrom('donations').select('status').where('id', '=', donationId).executeTakeFirstOrThrow()).status
}

describe('webhook secrets offline (no STRIPE_SECRET_KEY)', () => {
  test('an event signed with the configured STRIPE_WEBHOOK_SECRET is accepted and applied', async () => {
    const { donationId, event } = await completion()
    expect(await deliver(event, { secret: TEST_WEBHOOK_SECRET })).toBe(200)
    expect(await status(donationId)).toBe('confirmed')
  })

  test('an event signed with the offline checkout’s own secret is accepted and applied', async () => {
    const { donationId, event } = await completion()
    expect(await deliver(event, { secret: OFFLINE_WEBHOOK_SECRET })).toBe(200)
    expect(await status(donationId)).toBe('confirmed')
  })

  test('an event signed with any other secret is refused and writes nothing', async () => {
    const { donationId, event } = await completion()
    expect(await deliver(event, { secret: 'whsec_someone_else' })).toBe(400)
    expect(await status(donationId)).toBe('pending')
  })

  test('with no STRIPE_WEBHOOK_SECRET at all, the offline secret still works', async () => {
    delete process.env.STRIPE_WEBHOOK_SECRET
    resetEnvForTests()
    try {
      const { donationId, event } = await completion()
      expect(await deliver(event, { secret: OFFLINE_WEBHOOK_SECRET })).toBe(200)
      expect(await status(donationId)).toBe('confirmed')
    } finally {
      process.env.STRIPE_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
      resetEnvForTests()
    }
  })
})

describe('webhook secrets online (STRIPE_SECRET_KEY set)', () => {
  test('the offline checkout’s public secret is refused; the configured one is taken', async () => {
    useTestStripe()
    try {
      const offline = await completion()
      expect(await deliver(offline.event, { secret: OFFLINE_WEBHOOK_SECRET })).toBe(400)
      expect(await status(offline.donationId)).toBe('pending')
      const configured = await completion()
      expect(await deliver(configured.event, { secret: TEST_WEBHOOK_SECRET })).toBe(200)
    } finally {
      delete process.env.STRIPE_SECRET_KEY
      resetEnvForTests()
    }
  })
})
