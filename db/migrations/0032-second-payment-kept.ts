import type { Kysely } from 'kysely'

/**
 * A second payment the donor meant (they gave twice on purpose): staff say so once, and it leaves
 * the "needs attention" list instead of asking to be refunded for ever.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('donations').addColumn('second_payment_kept_at', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('donations').dropColumn('second_payment_kept_at').execute()
}
