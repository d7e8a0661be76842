import type { Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
export { WEBHOOK_BODY_MAX_BYTES as STRIPE_WEBHOOK_MAX_BYTES } from '#app/utils/request-body.server.ts'
import { receiveStripeEvent, wakeStripeApplier } from './stripe-inbox.server.ts'
import { constructWebhookEvent, type StripeEvent } from './stripe.server.ts'


/**
 * Receives one Stripe webhook delivery: checks its signature and stores it in the inbox, nothing
 * more (docs/decisions/014-stripe-inbox.md); the worker applies it a moment later. 400 for a bad
 * signature or an envelope that is not an event (nothing written), 200 once stored or when it was
 * stored before, 500 when the database could not store it (so Stripe delivers it again).
 */
export async function receiveStripeWebhook(
  db: Database,
  rawBody: string,
  signatureHeader: string | null,
  source: 'webhook' | 'offline' = 'webhook',
): Promise<{ status: 200 | 400 | 500; message: string }> {
  if (!signatureHeader) return { status: 400, message: 'Missing Stripe-Signature header' }
  let event: StripeEvent
  try {
    event = constructWebhookEvent(rawBody, signatureHeader)
  } catch {
    return { status: 400, message: 'Invalid signature' }
  }
  if (!isEventEnvelope(event)) return { status: 400, message: 'Unexpected payload' }
  try {
    const stored = await receiveStripeEvent(db, event, source)
    if (stored) wakeStripeApplier(db)
    return { status: 200, message: stored ? 'Received' : 'Already received' }
  } catch (error) {
    getLogger().error({ err: error, eventId: event.id, type: event.type }, 'Stripe event could not be stored')
    return { status: 500, message: 'Could not store the event' }
  }
}

/**
 * The signature proves who sent the body, not its shape: everything the inbox relies on before
 * anything looks inside the object (an id to key it by, a type, a time, an object). The object's
 * own shape is checked when the event is applied, and one that does not fit is parked for staff.
 */
function isEventEnvelope(event: unknown): event is StripeEvent {
  const candidate = event as Partial<Record<'id' | 'type' | 'created' | 'data', unknown>> | null
  if (typeof candidate !== 'object' || candidate === null) return false
  const { id, type, created, data } = candidate
  const object = (data as { object?: unknown } | null | undefined)?.object
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= 255 &&
    typeof type === 'string' &&
    type.length > 0 &&
    type.length <= 255 &&
    typeof created === 'number' &&
    Number.isSafeInteger(created) &&
    created >= 0 &&
    created < 100_000_000_000 &&
    typeof object === 'object' &&
    object !== null &&
    !Array.isArray(object)
  )
}
