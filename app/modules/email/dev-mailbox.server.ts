import type { Database } from '#app/utils/db.server.ts'
import type { EmailSender } from './sending.ts'

/** Development only: "delivers" each email into a table that /dev/mailbox shows. */
export function createDevMailboxSender(db: Database): EmailSender {
  return {
    name: 'dev-mailbox',
    async send(email) {
      const row = await db
        .insertInto('dev_mailbox')
        .values({
          outbox_id: email.outboxId ?? null,
          from_address: email.from,
          to_address: email.to,
          subject: email.subject,
          html: email.html,
          text: email.text,
          attachments: JSON.stringify(email.attachments ?? []),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      return { kind: 'sent', providerMessageId: `dev-mailbox-${row.id}` }
    },
  }
}

export function listMailbox(db: Database, limit = 100) {
  return db
    .selectFrom('dev_mailbox')
    .select(['id', 'to_address', 'subject', 'created_at'])
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute()
}

export function getMailboxEmail(db: Database, id: string) {
  return db.selectFrom('dev_mailbox').selectAll().where('id', '=', id).executeTakeFirst()
}
