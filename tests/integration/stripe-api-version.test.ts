import { readFile } from 'node:fs/promises'
import { beforeAll, describe, expect, test } from 'vitest'
import { refundPayment, STRIPE_API_VERSION } from '#app/modules/payments/stripe.server.ts'
import { clearStripeCalls, stripeCalls } from '#tests/mocks/stripe.ts'
import { useTestStripe } from './donation-fixtures.ts'

/**
 * The Stripe API version is pinned in the client, not left to whatever the installed SDK
 * defaults to, and the README tells the operator which version to set the webhook endpoint to:
 * event objects are shaped by the endpoint's version, and our zod checks expect this one.
 */

beforeAll(() => useTestStripe())

describe('the Stripe API version', () => {
  test('is a pinned, dated version', () => {
    expect(STRIPE_API_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}\.[a-z]+$/)
  })

  test('every request the client makes sends it as the Stripe-Version header', async () => {
    clearStripeCalls()
    await refundPayment({ paymentIntentId: 'pi_version_check', amountMinor: 500, idempotencyKey: 'refund:version-check' })
    expect(stripeCalls).toHaveLength(1)
    expect(stripeCalls[0]!.stripeVersion).toBe(STRIPE_API_VERSION)
  })

  test('the README names the same version for the webhook endpoint', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).toContain(`API version \`${STRIPE_API_VERSION}\``)
  })
})
