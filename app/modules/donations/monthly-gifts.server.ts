import type { Database } from '#app/utils/db.server.ts'
import { endOfflineSubscription } from './offline-checkout.server.ts'
import { cancelSubscription, isOfflineCheckout } from './stripe.server.ts'

export async function getMonthlyPlan(db: Database, planId: string) {
  if (!/^[0-9a-f-]{36}$/i.test(planId)) return undefined
  return db
    .selectFrom('recurring_plans as p')
    .innerJoin('appeals as a', 'a.id', 'p.appeal_id')
    .select(['p.id', 'p.status', 'p.amount_minor', 'p.currency', 'p.stripe_subscription_id', 'a.title', 'a.slug'])
    .where('p.id', '=', planId)
    .executeTakeFirst()
}

/**
 * Asks Stripe to end the subscription. The plan is marked stopped (and the supporter emailed)
 * when Stripe's `customer.subscription.deleted` arrives, as for any other ending.
 */
export async function stopMonthlyGift(db: Database, planId: string): Promise<'stopping' | 'already-stopped'> {
  const plan = await getMonthlyPlan(db, planId)
  if (!plan || plan.status === 'cancelled' || plan.status === 'abandoned') return 'already-stopped'
  if (isOfflineCheckout()) {
    await endOfflineSubscription(db, plan.id)
  } else if (plan.stripe_subscription_id) {
    await cancelSubscription(plan.stripe_subscription_id)
  }
  return 'stopping'
}
