import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { expect, test } from 'vitest'
import { lockSubjectsOf } from '#app/modules/payments/stripe-event-handlers.server.ts'
import type { StripeEvent } from '#app/modules/payments/stripe.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { isEmbeddedDatabaseUrl } from '#app/utils/embedded-database.server.ts'
import { completedSession, paidInvoice, stripeEvent } from '#tests/mocks/stripe.ts'

/**
 * Every event that changes a monthly gift's plan takes the plan's advisory lock with the others,
 * first and in the one order, so two batches that touch two plans in opposite orders wait for each
 * other instead of deadlocking over the plans' rows (and being redone event by event after
 * PostgreSQL's deadlock_timeout). Only PostgreSQL has a second connection to wait.
 */
const db = getDb()
const embedded = isEmbeddedDatabaseUrl(process.env.DATABASE_URL!)

/** Transactions waiting for an advisory lock another holds. */
async function waitingForAdvisoryLocks() {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`.execute(db)
  return rows[0]!.n
}

test.skipIf(embedded)('a failed payment, the end of the subscription, a paid invoice and the checkout of one plan each wait for the one before', async () => {
  const planId = randomUUID()
  const subscription = `sub_${planId.slice(0, 8)}`
  const invoice = (id: string) => paidInvoice({ id, subscription, amountPaidMinor: 1_000, billingReason: 'subscription_cycle', recurringPlanId: planId })
  // Built in Stripe's shapes (tests/mocks/stripe.ts), typed as the SDK's union of every event.
  const events = [
    stripeEvent('invoice.payment_failed', { ...invoice(`in_failed_${planId.slice(0, 8)}`), status: 'open' }),
    stripeEvent('customer.subscription.deleted', { id: subscription, object: 'subscription', status: 'canceled', metadata: { recurring_plan_id: planId } }),
    stripeEvent('invoice.paid', invoice(`in_paid_${planId.slice(0, 8)}`)),
    stripeEvent('checkout.session.completed', completedSession({ donationId: randomUUID(), amountMinor: 1_000, mode: 'subscription', recurringPlanId: planId })),
  ] as unknown as StripeEvent[]
  for (const [earlier, later] of [[events[0]!, events[1]!], [events[1]!, events[2]!], [events[2]!, events[3]!]] as const) {
    let release!: () => void
    let holding!: () => void
    const held = new Promise<void>((resolve) => (holding = resolve))
    const first = db.transaction().execute(async (trx) => {
      await lockSubjectsOf(trx, [earlier])
      holding()
      await new Promise<void>((resolve) => (release = resolve))
    })
    await held
    let secondDone = false
    const second = db.transaction().execute(async (trx) => {
      await lockSubjectsOf(trx, [later])
      secondDone = true
    })
    await expect.poll(waitingForAdvisoryLocks, { timeout: 3_000 }).toBe(1)
    expect(secondDone, `${later.type} went ahead of ${earlier.type}`).toBe(false)
    release()
    await Promise.all([first, second])
    expect(secondDone).toBe(true)
  }
})
