import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { receiveStripeEvent, wakeStripeApplier } from './stripe-inbox.server.ts'
import { listUndeliveredEvents } from './stripe.server.ts'

export const RECONCILE_STRIPE_TASK = 'reconcile_stripe_events'
/** Stripe retries a webhook for three days; we look back as far. */
const LOOK_BACK_MS = 3 * 24 * 60 * 60 * 1000

/**
 * Catches what webhooks missed (our outage, a misconfigured endpoint): asks Stripe for the events
 * of the last three days it could not deliver and puts those the inbox does not have into it, to
 * be applied as a delivered event is. Running it twice is harmless: the inbox is keyed by event.
 */
export async function reconcileStripeEvents(db: Database, now = new Date()) {
  const events = await listUndeliveredEvents(new Date(now.getTime() - LOOK_BACK_MS))
  let stored = 0
  // Oldest first, as they happened.
  for (const event of events.sort((a, b) => a.created - b.created)) {
    if (await receiveStripeEvent(db, event, 'reconciliation')) stored += 1
  }
  if (stored > 0) {
    wakeStripeApplier(db)
    getLogger().warn({ stored, seen: events.length }, 'Reconciliation found Stripe events that webhooks missed')
  }
  return { seen: events.length, stored }
}
