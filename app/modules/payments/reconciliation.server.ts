import type { Database } from '#app/utils/db.server.ts'
import { isPermanentFailure } from '#app/utils/database-errors.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { MalformedStripeEvent } from './stripe-event-objects.server.ts'
import { applyStripeEvent } from './stripe-webhook.server.ts'
import { listUndeliveredEvents } from './stripe.server.ts'

export const RECONCILE_STRIPE_TASK = 'reconcile_stripe_events'
/** Stripe retries a webhook for three days; we look back as far. */
const LOOK_BACK_MS = 3 * 24 * 60 * 60 * 1000

/**
 * Catches what webhooks missed (our outage, a misconfigured endpoint): asks Stripe for the events
 * of the last three days it could not deliver, and applies those we have not recorded. Applying
 * is the same at-most-once path a webhook takes, so running this twice is harmless.
 */
export async function reconcileStripeEvents(db: Database, now = new Date()) {
  const events = await listUndeliveredEvents(new Date(now.getTime() - LOOK_BACK_MS))
  let applied = 0
  let refused = 0
  // Oldest first, as they happened.
  for (const event of events.sort((a, b) => a.created - b.created)) {
    try {
      const { duplicate } = await applyStripeEvent(db, event)
      if (!duplicate) applied += 1
    } catch (error) {
      // One event no retry could apply must not keep every later one out on each run.
      if (!(error instanceof MalformedStripeEvent) && !isPermanentFailure(error)) throw error
      refused += 1
      getLogger().error({ eventId: event.id, type: event.type, err: error instanceof MalformedStripeEvent ? error.message : error }, 'Reconciliation could not apply a Stripe event')
    }
  }
  if (applied > 0) getLogger().warn({ applied, seen: events.length }, 'Reconciliation applied Stripe events that webhooks missed')
  return { seen: events.length, applied, refused }
}
