import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { registrationEmailFacts, checkinQrAttachment } from '#app/modules/registrations/registration-emails.server.ts'


export const SEND_REMINDERS_TASK = 'send_event_reminders'

/**
 * Reminders for everyone confirmed for events starting within EVENT_REMINDER_HOURS (24 by
 * default). Each registration is
 * marked in the same transaction as its email is queued, and the email's key is per registration,
 * so running this twice (or on two workers at once) sends each reminder once.
 */
export async function sendEventReminders(db: Database, now = new Date()) {
  const due = await db
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .select(['r.id'])
    .where('r.status', '=', 'confirmed')
    .where('r.reminder_sent_at', 'is', null)
    .where('e.status', '=', 'published')
    .where('e.starts_at', '>', now)
    .where('e.starts_at', '<=', new Date(now.getTime() + getEnv().EVENT_REMINDER_HOURS * 60 * 60 * 1000))
    .execute()
  let sent = 0
  for (const { id } of due) {
    const marked = await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('registrations')
        .set({ reminder_sent_at: now })
        .where('id', '=', id)
        .where('reminder_sent_at', 'is', null)
        .returning('id')
        .executeTakeFirst()
      if (!claimed) return false
      const { row, common } = await registrationEmailFacts(trx, id)
      // The same QR code as the confirmation's, for whoever kept only the reminder to hand; none
      // online, where there is no door (the email gives joining words instead).
      const inRoom = row.mode === 'in_person'
      const attachments = row.checkin_token && inRoom ? [await checkinQrAttachment(row.checkin_token)] : []
      await enqueueEmail(trx, {
        template: 'event-reminder',
        to: row.email,
        props: {
          ...common,
          venueName: row.venue_name,
          venueAddress: row.venue_address,
          accessNotes: row.access_notes,
          onlineUrl: row.online_url,
          checkinCode: inRoom ? row.checkin_token : null,
          hasQrAttachment: attachments.length > 0,
          cancelUrl: manageRegistrationUrl(id),
        },
        idempotencyKey: `event-reminder/${id}`,
        attachments,
      })
      return true
    })
    if (marked) sent += 1
  }
  return { sent }
}
