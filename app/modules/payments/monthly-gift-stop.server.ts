import { getMonthlyPlan } from '#app/modules/donations/monthly-gifts.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { endOfflineSubscription } from './offline-checkout.server.ts'
import { cancelSubscription, isOfflineCheckout } from './stripe.server.ts'

/**
 * Asks Stripe (or the offline checkout) to end the subscription. The plan is marked stopped (and
 * the supporter emailed) when `customer.subscription.deleted` arrives, as for any other ending.
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
