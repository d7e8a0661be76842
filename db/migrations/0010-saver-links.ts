import { sql, type Kysely } from 'kysely'

/**
 * Keeping saved events across devices. A saver_links row is a sign-in link emailed to someone who
 * asked to keep their saves on other devices: only the token's hash is kept, it works once (the
 * row is deleted when used) and for an hour, and the email address and alert choices in it are
 * written to the saver only when the link is opened, so nobody can subscribe someone else.
 * A saver joined into another keeps pointing at it (merged_into_id), so every browser whose
 * cookie holds the old id still finds the saves.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('saver_links')
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('saver_id', 'uuid', (col) => col.notNull().references('savers.id').onDelete('cascade'))
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('alerts_reminder', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('alerts_few_places', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('saver_links_saver_idx').on('saver_links').column('saver_id').execute()
  await db.schema.createIndex('saver_links_expires_idx').on('saver_links').column('expires_at').execute()
  await db.schema
    .alterTable('savers')
    .addColumn('merged_into_id', 'uuid', (col) => col.references('savers.id').onDelete('set null'))
    .execute()
  await db.schema.createIndex('savers_merged_into_idx').on('savers').column('merged_into_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('savers').dropColumn('merged_into_id').execute()
  await db.schema.dropTable('saver_links').execute()
}
