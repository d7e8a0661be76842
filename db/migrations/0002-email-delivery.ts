import { sql, type Kysely } from 'kysely'

/** What the email worker needs beyond the first model: attachments and a claim on a row. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('email_outbox')
    .addColumn('attachments', 'jsonb', (col) => col.notNull().defaultTo('[]'))
    // Set when a worker takes the email; a claim older than a few minutes belongs to a crashed worker.
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz')
    // Retries stop about a day after this; a staff member's "retry" starts a new window.
    .addColumn('retry_window_started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('email_outbox')
    .dropColumn('attachments')
    .dropColumn('claimed_at')
    .dropColumn('next_attempt_at')
    .dropColumn('retry_window_started_at')
    .execute()
}
