import { sql, type Kysely } from 'kysely'

/**
 * Unpaid holds cannot hoard places, and the waitlist counts only confirmed addresses (ADR 023).
 *
 * - `registrations.client_key`: a hash of the address a registration came from (never the
 *   address), so that the unpaid holds open at once from one address for one event can be
 *   counted. Needed only while a hold is open; the retention job clears it after a day.
 * - `events.unpaid_holds_per_client`: staff's limit for one event (a dinner whose tables book from
 *   one Wi-Fi); null means the `UNPAID_HOLDS_PER_CLIENT` setting.
 * - `registrations.waitlist_confirmed_at`: when the person opened the link in their waitlist email
 *   and confirmed. Only confirmed entries are offered places. Everyone already waiting was
 *   waiting before confirmation existed, so they count as confirmed when they joined.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('registrations')
    .addColumn('client_key', 'text')
    .addColumn('waitlist_confirmed_at', 'timestamptz')
    .execute()
  await db.schema
    .alterTable('events')
    .addColumn('unpaid_holds_per_client', 'integer', (col) => col.check(sql`unpaid_holds_per_client > 0`))
    .execute()
  await sql`update registrations set waitlist_confirmed_at = waitlisted_at where status in ('waitlisted', 'offered') and waitlisted_at is not null`.execute(db)
  await db.schema
    .createIndex('registrations_open_holds_by_client_idx')
    .on('registrations')
    .columns(['event_id', 'client_key'])
    .where(sql.ref('status'), '=', 'held')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('registrations_open_holds_by_client_idx').execute()
  await db.schema.alterTable('events').dropColumn('unpaid_holds_per_client').execute()
  await db.schema.alterTable('registrations').dropColumn('client_key').dropColumn('waitlist_confirmed_at').execute()
}
