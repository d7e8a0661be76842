import { sql, type Kysely } from 'kysely'

/**
 * `events.registration_rate_limit`: staff's own limit, for one event, on registrations from one
 * client address in ten minutes (a dinner where every table books over the venue's Wi-Fi); null
 * means the `REGISTRATION_RATE_LIMIT` setting. The form allows no less than that setting; the
 * table allows any whole number from 1 to 10,000, the most any rate limit may be.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('events')
    .addColumn('registration_rate_limit', 'integer', (col) => col.check(sql`registration_rate_limit between 1 and 10000`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('registration_rate_limit').execute()
}
