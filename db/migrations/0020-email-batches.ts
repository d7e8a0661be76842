import { sql, type Kysely } from 'kysely'

/**
 * Bulk email through Resend's batch endpoint (docs/decisions/018-email-batches.md).
 *
 * - `email_outbox.delivery`: 'batch' for news, alerts and event notices without attachments, which
 *   go up to 100 to a request; 'single' (every row written before this migration) for the rest,
 *   one request each. Decided when the email is enqueued and never changed.
 * - `email_batches`: one row per batch request. Its membership is written before its first
 *   attempt and the request's idempotency key is derived from it, so a retry after a crash sends
 *   the same emails under the same key and Resend sends none of them twice.
 * - `email_batch_members`: which outbox rows are in which batch, in request order. A batch split
 *   after Resend refused it whole keeps its members (history); its halves are new batches.
 *
 * No personal data: ids, counts, times and Resend's error messages only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('email_outbox')
    .addColumn('delivery', 'text', (col) => col.notNull().defaultTo('single').check(sql`delivery in ('single', 'batch')`))
    .execute()
  // What the batch sender looks for, oldest first: cheap however large the outbox grows.
  await sql`create index email_outbox_batch_queue_idx on email_outbox (created_at) where status = 'queued' and delivery = 'batch'`.execute(db)

  await db.schema
    .createTable('email_batches')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('sending').check(sql`status in ('sending', 'waiting', 'sent', 'failed', 'split')`),
    )
    // Requests started for this batch; 0 until the first one, so nothing of it can have been sent.
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    // The worker process that holds the batch, and since when (see batches.server.ts on stale claims).
    .addColumn('claimed_by', 'uuid')
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index email_batches_open_idx on email_batches (next_attempt_at) where status in ('sending', 'waiting')`.execute(db)

  await db.schema
    .createTable('email_batch_members')
    .addColumn('batch_id', 'uuid', (col) => col.notNull().references('email_batches.id').onDelete('cascade'))
    .addColumn('position', 'smallint', (col) => col.notNull())
    .addColumn('outbox_id', 'uuid', (col) => col.notNull().references('email_outbox.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('email_batch_members_pkey', ['batch_id', 'position'])
    .addUniqueConstraint('email_batch_members_outbox_key', ['batch_id', 'outbox_id'])
    .execute()
  await db.schema.createIndex('email_batch_members_outbox_idx').on('email_batch_members').column('outbox_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_batch_members').execute()
  await db.schema.dropTable('email_batches').execute()
  await sql`drop index email_outbox_batch_queue_idx`.execute(db)
  await db.schema.alterTable('email_outbox').dropColumn('delivery').execute()
}
