import { sql, type Kysely } from 'kysely'

/**
 * The daily limit on emails that public forms send to an address nobody has confirmed
 * (docs/decisions/021):
 * - `supporters.email_confirmed_at`: when the address was first shown to be read by the person
 *   using it (a saved-events link opened and the address typed); such an address is not limited.
 * - an index to count, per lower-cased address, the form emails of the last day in the outbox,
 *   which is where the limit is counted (one count for every web server, in the sending transaction).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('supporters').addColumn('email_confirmed_at', 'timestamptz').execute()
  await sql`
    create index email_outbox_form_emails_idx on email_outbox (lower(to_address), created_at)
    where template in ('registration-confirmed', 'waitlist-joined', 'registration-exists', 'saved-events-link')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists email_outbox_form_emails_idx`.execute(db)
  await db.schema.alterTable('supporters').dropColumn('email_confirmed_at').execute()
}
