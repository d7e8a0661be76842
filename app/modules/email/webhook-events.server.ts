import type { Database } from '#app/utils/db.server.ts'
import type { ResendWebhookEvent } from './resend.server.ts'

/**
 * Applies a verified Resend webhook once: the Svix message id is recorded in the same
 * transaction as its effects, so a redelivery changes nothing.
 */
export async function applyResendWebhook(
  db: Database,
  messageId: string,
  event: ResendWebhookEvent,
): Promise<{ duplicate: boolean }> {
  return db.transaction().execute(async (trx) => {
    const recorded = await trx
      .insertInto('webhook_events')
      .values({ provider: 'resend', event_id: messageId, type: event.type })
      .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
      .returning('event_id')
      .executeTakeFirst()
    if (!recorded) return { duplicate: true }

    const providerMessageId = typeof event.data.email_id === 'string' ? event.data.email_id : undefined
    const recipients = (Array.isArray(event.data.to) ? event.data.to : [event.data.to])
      .filter((address): address is string => typeof address === 'string')
      .map((address) => address.toLowerCase())

    if (event.type === 'email.bounced' || event.type === 'email.complained') {
      const reason = event.type === 'email.bounced' ? 'bounced' : 'complained'
      if (recipients.length > 0) {
        await trx
          .insertInto('email_suppressions')
          .values(recipients.map((email) => ({ email, reason })))
          .onConflict((oc) => oc.column('email').doNothing())
          .execute()
      }
      if (providerMessageId) {
        await trx
          .updateTable('email_outbox')
          .set({ last_error: `Resend reported: ${reason}`, updated_at: new Date() })
          .where('provider_message_id', '=', providerMessageId)
          .execute()
      }
    } else if (event.type === 'email.delivered' && providerMessageId) {
      await trx
        .updateTable('email_outbox')
        .set({ delivered_at: deliveredAt(event.created_at), updated_at: new Date() })
        .where('provider_message_id', '=', providerMessageId)
        .execute()
    }
    return { duplicate: false }
  })
}

/** When Resend says it delivered; now, if it gave no time we can read. */
function deliveredAt(createdAt: unknown): Date {
  const at = typeof createdAt === 'string' || typeof createdAt === 'number' ? new Date(createdAt) : new Date(Number.NaN)
  return Number.isNaN(at.getTime()) ? new Date() : at
}
