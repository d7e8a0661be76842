import { sql, type Kysely } from 'kysely'

/**
 * Outbox emails whose delivery job is added after their transaction commits, in batches, rather
 * than inside it. graphile-worker's add_job sends a NOTIFY, and PostgreSQL commits notifying
 * transactions one at a time; a webhook that added one per receipt could not commit alongside
 * others. `job_scheduled_at` is null until a job exists for the email; a partial index keeps
 * finding those cheap at any size of outbox.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('email_outbox').addColumn('job_scheduled_at', 'timestamptz').execute()
  await sql`update email_outbox set job_scheduled_at = created_at`.execute(db)
  await sql`create index email_outbox_unscheduled_idx on email_outbox (created_at) where job_scheduled_at is null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index email_outbox_unscheduled_idx`.execute(db)
  await db.schema.alterTable('email_outbox').dropColumn('job_scheduled_at').execute()
}
