import { sql, type Kysely } from 'kysely'

/**
 * `stripe_inbox`: every Stripe event we receive, committed before Stripe gets its 200 and applied
 * afterwards by the worker (docs/decisions/014-stripe-inbox.md). The event id is the key, so a
 * delivery Stripe repeats (or reconciliation finds again) is one row.
 *
 * - `state`: `pending` until applied; `applied` (types we do not act on too); `waiting` for a
 *   payment not known yet (`waits_for`, its payment intent); `parked` after too many failures or
 *   at once when no retry could cure it, for staff to see.
 * - `next_attempt_at`: when the applier may take it; a claim pushes it out by a lease, so an
 *   event whose worker died is taken again once the lease ends.
 * - `payload`: the event as JSON text (jsonb refuses a `\u0000` Stripe may pass on from a
 *   string, and text costs the intake no parsing), without the personal fields Stripe puts on its
 *   objects; null once the retention job has forgotten it (the row stays: a repeat is known).
 *
 * What `webhook_events` recorded for Stripe and what `deferred_stripe_events` held move here.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('stripe_inbox')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('stripe_created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('payload', 'text')
    .addColumn('source', 'text', (col) => col.notNull().defaultTo('webhook').check(sql`source in ('webhook', 'reconciliation', 'offline', 'migration')`))
    .addColumn('state', 'text', (col) => col.notNull().defaultTo('pending').check(sql`state in ('pending', 'applied', 'waiting', 'parked')`))
    .addColumn('waits_for', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_error', 'text')
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('applied_at', 'timestamptz')
    .addCheckConstraint('stripe_inbox_waiting_has_payment', sql`(state = 'waiting') = (waits_for is not null)`)
    .execute()
  // The applier's claim reads only what is due; waiting and parked events have their own lookups.
  await db.schema
    .createIndex('stripe_inbox_due_idx')
    .on('stripe_inbox')
    .columns(['next_attempt_at', 'received_at'])
    .where(sql.ref('state'), '=', 'pending')
    .execute()
  await db.schema.createIndex('stripe_inbox_waiting_idx').on('stripe_inbox').column('waits_for').where(sql.ref('state'), '=', 'waiting').execute()
  await db.schema.createIndex('stripe_inbox_parked_idx').on('stripe_inbox').column('received_at').where(sql.ref('state'), '=', 'parked').execute()
  await db.schema.createIndex('stripe_inbox_received_idx').on('stripe_inbox').column('received_at').execute()

  await sql`
    insert into stripe_inbox (event_id, type, stripe_created_at, payload, source, state, waits_for, received_at)
    select event_id, payload->>'type', to_timestamp((payload->>'created')::double precision), payload::text, 'migration', 'waiting',
           payment_intent_id, created_at
    from deferred_stripe_events
    on conflict (event_id) do nothing`.execute(db)
  await sql`
    insert into stripe_inbox (event_id, type, stripe_created_at, source, state, received_at, applied_at)
    select event_id, type, received_at, 'migration', 'applied', received_at, received_at
    from webhook_events where provider = 'stripe'
    on conflict (event_id) do nothing`.execute(db)
  await sql`delete from webhook_events where provider = 'stripe'`.execute(db)
  await db.schema.dropTable('deferred_stripe_events').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deferred_stripe_events')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('payment_intent_id', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('deferred_stripe_events_payment_intent_idx').on('deferred_stripe_events').column('payment_intent_id').execute()
  await sql`
    insert into deferred_stripe_events (event_id, payment_intent_id, payload, created_at)
    select event_id, waits_for, payload::jsonb, received_at from stripe_inbox where state = 'waiting' and payload is not null`.execute(db)
  await sql`
    insert into webhook_events (provider, event_id, type, received_at)
    select 'stripe', event_id, type, received_at from stripe_inbox where state <> 'pending'
    on conflict do nothing`.execute(db)
  await db.schema.dropTable('stripe_inbox').execute()
}
