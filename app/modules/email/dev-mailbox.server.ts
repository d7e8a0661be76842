import type { Database } from '#app/utils/db.server.ts'
import type { EmailSender, OutgoingEmail } from './sending.ts'

/**
 * Development only: "delivers" each email into a table that /dev/mailbox shows. A batch lands as
 * one row per email, like single emails, so the mailbox lists them alike (the email's page says
 * which batch carried it).
 */
export function createDevMailboxSender(db: Database): EmailSender {
  return {
    name: 'dev-mailbox',
    async send(email) {
      const row = await db.insertInto('dev_mailbox').values(mailboxRow(email)).returning('id').executeTakeFirstOrThrow()
      return { kind: 'sent', providerMessageId: `dev-mailbox-${row.id}` }
    },
    async sendBatch({ emails }) {
      if (emails.length === 0) return { kind: 'sent', results: [] }
      const rows = await db.insertInto('dev_mailbox').values(emails.map(mailboxRow)).returning(['id', 'outbox_id']).execute()
      // Matched by outbox id: PostgreSQL does not promise RETURNING in VALUES order.
      const ids = new Map(rows.map((row) => [row.outbox_id, row.id]))
      return {
        kind: 'sent',
        results: emails.map((email, index) => ({
          outcome: 'sent' as const,
          providerMessageId: `dev-mailbox-${ids.get(email.outboxId ?? null) ?? rows[index]!.id}`,
        })),
      }
    },
  }
}

function mailboxRow(email: OutgoingEmail) {
  return {
    outbox_id: email.outboxId ?? null,
    from_address: email.from,
    to_address: email.to,
    subject: email.subject,
    html: email.html,
    text: email.text,
    attachments: JSON.stringify(email.attachments ?? []),
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

/**
 * The batch request that carried an email, if one did: the one that was sent (an earlier batch
 * may have been split after being refused whole), and how many emails it carried.
 */
export async function getMailboxBatch(db: Database, outboxId: string | null) {
  if (!outboxId) return null
  const batch = await db
    .selectFrom('email_batch_members as bm')
    .innerJoin('email_batches as b', 'b.id', 'bm.batch_id')
    .select((eb) => [
      'b.id',
      eb.selectFrom('email_batch_members as all').select((inner) => inner.fn.countAll<string>().as('n')).whereRef('all.batch_id', '=', 'b.id').as('size'),
    ])
    .where('bm.outbox_id', '=', outboxId)
    .where('b.status', '=', 'sent')
    .executeTakeFirst()
  return batch ? { id: batch.id, size: Number(batch.size) } : null
}
