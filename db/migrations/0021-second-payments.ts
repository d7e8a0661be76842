import { type Kysely } from 'kysely'

/**
 * `donations.second_payment_of`: a donation made for money Stripe took a second time for a gift
 * already paid (a second Checkout Session completed for it). The money is real, so it is a gift of
 * its own in the ledger and the totals, with its own receipt; the link is how staff see that the
 * donor paid twice and can refund it in one click.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('donations')
    .addColumn('second_payment_of', 'uuid', (col) => col.references('donations.id').onDelete('set null'))
    .execute()
  await db.schema.createIndex('donations_second_payment_of_idx').on('donations').column('second_payment_of').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('donations_second_payment_of_idx').execute()
  await db.schema.alterTable('donations').dropColumn('second_payment_of').execute()
}
