import { sql, type Kysely } from 'kysely'

/**
 * `donations.checkout_client_key`: a hash of the address a checkout came from (never the address),
 * so that checkouts which end unpaid (expired, failed, declined cards) count against that address
 * and nothing else does: a room of donors sharing one address is never blocked by the gifts they
 * complete or the checkouts they still have open. Cleared after a day by the retention job.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('donations').addColumn('checkout_client_key', 'text').execute()
  await db.schema
    .createIndex('donations_checkout_client_key_idx')
    .on('donations')
    .column('checkout_client_key')
    .where(sql.ref('checkout_client_key'), 'is not', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('donations_checkout_client_key_idx').execute()
  await db.schema.alterTable('donations').dropColumn('checkout_client_key').execute()
}
