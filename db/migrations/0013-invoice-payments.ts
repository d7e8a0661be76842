import type { Kysely } from 'kysely'

/**
 * Which payment intent paid which invoice. Stripe's current API no longer puts the payment intent
 * on an invoice's events; it comes in its own `invoice_payment.paid` event, in any order with
 * `invoice.paid`. A refund or dispute of a monthly instalment names only the payment intent, so
 * this is how it finds its donation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invoice_payments')
    .addColumn('payment_intent_id', 'text', (col) => col.primaryKey())
    .addColumn('invoice_id', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(db.fn('now')))
    .execute()
  await db.schema.createIndex('invoice_payments_invoice_idx').on('invoice_payments').column('invoice_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invoice_payments').execute()
}
