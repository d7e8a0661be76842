import { sql, type Kysely } from 'kysely'

/**
 * Stripe may deliver a refund or a dispute before the payment it belongs to. Such an event is
 * kept here, keyed by its payment intent, and applied the moment that payment is confirmed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deferred_stripe_events')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('payment_intent_id', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('deferred_stripe_events_payment_intent_idx')
    .on('deferred_stripe_events')
    .column('payment_intent_id')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('deferred_stripe_events').execute()
}
