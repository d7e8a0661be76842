import { sql, type Kysely } from 'kysely'

/**
 * The data model for the whole mission (docs/decisions/003-data-model.md).
 * Enumerations are text columns with CHECK constraints so later migrations can extend them
 * inside a transaction. Money is bigint minor units with its ISO currency beside it.
 */

const id = sql`gen_random_uuid()`
const now = sql`now()`

function oneOf(column: string, values: readonly string[]) {
  return sql.raw(`${column} in (${values.map((value) => `'${value}'`).join(', ')})`)
}

export async function up(db: Kysely<any>): Promise<void> {
  // ── Organisation ────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('organisation')
    .addColumn('id', 'integer', (col) => col.primaryKey().defaultTo(1).check(sql`id = 1`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('short_name', 'text', (col) => col.notNull())
    .addColumn('tagline', 'text')
    .addColumn('vision', 'text', (col) => col.notNull())
    .addColumn('mission', 'text', (col) => col.notNull())
    .addColumn('focus_areas', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
    .addColumn('primary_colour', 'text', (col) => col.notNull().defaultTo('#1f4e5f'))
    .addColumn('accent_colour', 'text', (col) => col.notNull().defaultTo('#b5472b'))
    .addColumn('contact_email', 'text')
    .addColumn('website_url', 'text')
    .addColumn('charity_number', 'text')
    .addColumn('gift_aid_enabled', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()

  await db.schema
    .createTable('testimonials')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('quote', 'text', (col) => col.notNull())
    .addColumn('author', 'text', (col) => col.notNull())
    .addColumn('author_context', 'text')
    .addColumn('position', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('published', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()

  // ── Staff ───────────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('staff_users')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('role', 'text', (col) => col.notNull().check(oneOf('role', ['admin', 'staff', 'viewer'])))
    .addColumn('password_hash', 'text')
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema
    .createIndex('staff_users_email_key')
    .on('staff_users')
    .unique()
    .expression(sql`lower(email)`)
    .execute()

  await db.schema
    .createTable('staff_sessions')
    // The cookie holds a random token; only its SHA-256 is stored.
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('staff_user_id', 'uuid', (col) =>
      col.notNull().references('staff_users.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('last_seen_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .execute()
  await db.schema
    .createIndex('staff_sessions_staff_user_id_idx')
    .on('staff_sessions')
    .column('staff_user_id')
    .execute()

  await db.schema
    .createTable('staff_sign_in_tokens')
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('staff_user_id', 'uuid', (col) =>
      col.notNull().references('staff_users.id').onDelete('cascade'),
    )
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('staff_user_id', 'uuid', (col) => col.references('staff_users.id').onDelete('set null'))
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('subject_type', 'text')
    .addColumn('subject_id', 'text')
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('audit_log_created_at_idx').on('audit_log').column('created_at').execute()

  // ── Supporters ──────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('supporters')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('email', 'text')
    .addColumn('name', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    // Erasure keeps the row (amounts stay in the accounts) and blanks what identifies a person.
    .addColumn('erased_at', 'timestamptz')
    .execute()
  await db.schema
    .createIndex('supporters_email_key')
    .on('supporters')
    .unique()
    .expression(sql`lower(email)`)
    .execute()

  await db.schema
    .createTable('email_suppressions')
    .addColumn('email', 'text', (col) => col.primaryKey()) // stored lower-cased
    .addColumn('reason', 'text', (col) =>
      col.notNull().check(oneOf('reason', ['bounced', 'complained', 'manual'])),
    )
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()

  // ── Appeals ─────────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('appeals')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('slug', 'text', (col) => col.notNull().unique())
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('summary', 'text', (col) => col.notNull())
    .addColumn('beneficiary_name', 'text', (col) => col.notNull())
    .addColumn('beneficiary_is_pseudonym', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('story_markdown', 'text', (col) => col.notNull())
    .addColumn('photo_path', 'text')
    .addColumn('photo_alt', 'text')
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('goal_minor', 'bigint', (col) => col.notNull().check(sql`goal_minor > 0`))
    .addColumn('suggested_amounts_minor', sql`bigint[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('draft').check(oneOf('status', ['draft', 'published', 'closed'])),
    )
    .addColumn('featured', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('published_at', 'timestamptz')
    .addColumn('closes_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('appeals_status_idx').on('appeals').columns(['status', 'published_at']).execute()

  // Kept in the same transaction as every ledger entry, so a page reads one row at any scale.
  await db.schema
    .createTable('appeal_totals')
    .addColumn('appeal_id', 'uuid', (col) => col.primaryKey().references('appeals.id').onDelete('cascade'))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('confirmed_gross_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('refunded_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('disputed_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donation_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donor_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()

  await db.schema
    .createTable('appeal_updates')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id').onDelete('cascade'))
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('body_markdown', 'text', (col) => col.notNull())
    .addColumn('published_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('emailed_at', 'timestamptz')
    .addColumn('author_staff_user_id', 'uuid', (col) => col.references('staff_users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema
    .createIndex('appeal_updates_appeal_idx')
    .on('appeal_updates')
    .columns(['appeal_id', 'published_at'])
    .execute()

  // ── Donations ───────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('gift_aid_declarations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('supporter_id', 'uuid', (col) => col.notNull().references('supporters.id'))
    .addColumn('full_name', 'text', (col) => col.notNull())
    .addColumn('house_name_or_number', 'text', (col) => col.notNull())
    .addColumn('address', 'text', (col) => col.notNull())
    .addColumn('postcode', 'text', (col) => col.notNull())
    .addColumn('declaration_text', 'text', (col) => col.notNull())
    .addColumn('declared_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('cancelled_at', 'timestamptz')
    .execute()

  await db.schema
    .createTable('recurring_plans')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id'))
    .addColumn('supporter_id', 'uuid', (col) => col.notNull().references('supporters.id'))
    .addColumn('amount_minor', 'bigint', (col) => col.notNull().check(sql`amount_minor > 0`))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('pending')
        .check(oneOf('status', ['pending', 'active', 'past_due', 'cancelled', 'abandoned'])),
    )
    .addColumn('stripe_subscription_id', 'text', (col) => col.unique())
    .addColumn('stripe_customer_id', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('recurring_plans_appeal_idx').on('recurring_plans').columns(['appeal_id', 'status']).execute()
  await db.schema.createIndex('recurring_plans_customer_idx').on('recurring_plans').column('stripe_customer_id').execute()

  await db.schema
    .createTable('donations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id'))
    .addColumn('supporter_id', 'uuid', (col) => col.notNull().references('supporters.id'))
    .addColumn('recurring_plan_id', 'uuid', (col) => col.references('recurring_plans.id'))
    .addColumn('frequency', 'text', (col) => col.notNull().check(oneOf('frequency', ['one_off', 'monthly'])))
    // The gift itself, and the processing fee the supporter chose to cover on top of it.
    .addColumn('amount_minor', 'bigint', (col) => col.notNull().check(sql`amount_minor > 0`))
    .addColumn('fee_cover_minor', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`fee_cover_minor >= 0`))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('pending')
        .check(oneOf('status', ['pending', 'processing', 'confirmed', 'failed', 'abandoned'])),
    )
    // Running sums of the ledger for this donation; the ledger stays the source of truth.
    .addColumn('refunded_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('disputed_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donor_name', 'text')
    .addColumn('donor_email', 'text')
    .addColumn('message', 'text', (col) => col.check(sql`char_length(message) <= 500`))
    .addColumn('show_name', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('show_amount', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('show_message', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('updates_opt_in', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('gift_aid_declaration_id', 'uuid', (col) => col.references('gift_aid_declarations.id'))
    .addColumn('stripe_checkout_session_id', 'text', (col) => col.unique())
    .addColumn('stripe_payment_intent_id', 'text', (col) => col.unique())
    .addColumn('stripe_charge_id', 'text', (col) => col.unique())
    .addColumn('stripe_invoice_id', 'text', (col) => col.unique())
    .addColumn('stripe_subscription_id', 'text')
    .addColumn('stripe_customer_id', 'text')
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('donations_appeal_status_idx').on('donations').columns(['appeal_id', 'status', 'confirmed_at']).execute()
  await db.schema.createIndex('donations_supporter_idx').on('donations').column('supporter_id').execute()
  await db.schema.createIndex('donations_subscription_idx').on('donations').column('stripe_subscription_id').execute()
  await db.schema.createIndex('donations_created_at_idx').on('donations').columns(['created_at', 'id']).execute()

  // Every movement of money, signed: a charge is positive, a refund or a lost dispute negative.
  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('donation_id', 'uuid', (col) => col.notNull().references('donations.id'))
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id'))
    .addColumn('kind', 'text', (col) =>
      col
        .notNull()
        .check(oneOf('kind', ['charge', 'refund', 'dispute_hold', 'dispute_release', 'dispute_loss'])),
    )
    .addColumn('amount_minor', 'bigint', (col) => col.notNull())
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    // The Stripe object behind the movement (charge, refund or dispute): one entry per object and kind.
    .addColumn('stripe_object_id', 'text', (col) => col.notNull())
    .addColumn('stripe_event_id', 'text')
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addUniqueConstraint('ledger_entries_object_kind_key', ['stripe_object_id', 'kind'])
    .execute()
  await db.schema.createIndex('ledger_entries_donation_idx').on('ledger_entries').column('donation_id').execute()
  await db.schema
    .createIndex('ledger_entries_appeal_idx')
    .on('ledger_entries')
    .columns(['appeal_id', 'occurred_at'])
    .execute()

  // What happened to a donation, in order, for the staff detail page.
  await db.schema
    .createTable('donation_events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('donation_id', 'uuid', (col) => col.notNull().references('donations.id'))
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('detail', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('stripe_event_id', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('donation_events_donation_idx').on('donation_events').columns(['donation_id', 'id']).execute()

  // ── Events ──────────────────────────────────────────────────────────────────────────────────
  await db.schema
    .createTable('events')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('slug', 'text', (col) => col.notNull().unique())
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('summary', 'text', (col) => col.notNull())
    .addColumn('description_markdown', 'text', (col) => col.notNull())
    .addColumn('starts_at', 'timestamptz', (col) => col.notNull())
    .addColumn('ends_at', 'timestamptz', (col) => col.notNull())
    .addColumn('time_zone', 'text', (col) => col.notNull())
    .addColumn('mode', 'text', (col) => col.notNull().check(oneOf('mode', ['in_person', 'online'])))
    .addColumn('venue_name', 'text')
    .addColumn('venue_address', 'text')
    .addColumn('access_notes', 'text')
    // Shown only to registered people and in their emails.
    .addColumn('online_url', 'text')
    .addColumn('organiser_name', 'text', (col) => col.notNull())
    .addColumn('capacity', 'integer', (col) => col.notNull().check(sql`capacity >= 0`))
    // Confirmed places plus live holds; moved only by an atomic conditional update.
    .addColumn('places_taken', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('max_per_order', 'integer', (col) => col.notNull().defaultTo(6).check(sql`max_per_order > 0`))
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('draft').check(oneOf('status', ['draft', 'published', 'cancelled'])),
    )
    .addColumn('featured', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('published_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addCheckConstraint('events_places_within_capacity', sql`places_taken >= 0 and places_taken <= capacity`)
    .addCheckConstraint('events_ends_after_start', sql`ends_at > starts_at`)
    .execute()
  await db.schema.createIndex('events_status_starts_idx').on('events').columns(['status', 'starts_at']).execute()

  await db.schema
    .createTable('ticket_types')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('event_id', 'uuid', (col) => col.notNull().references('events.id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(oneOf('kind', ['free', 'paid', 'pay_what_you_can'])))
    .addColumn('price_minor', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`price_minor >= 0`))
    .addColumn('min_price_minor', 'bigint', (col) => col.notNull().defaultTo(0).check(sql`min_price_minor >= 0`))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('position', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('ticket_types_event_idx').on('ticket_types').column('event_id').execute()

  await db.schema
    .createTable('registrations')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('event_id', 'uuid', (col) => col.notNull().references('events.id'))
    .addColumn('ticket_type_id', 'uuid', (col) => col.notNull().references('ticket_types.id'))
    .addColumn('supporter_id', 'uuid', (col) => col.references('supporters.id'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('quantity', 'integer', (col) => col.notNull().defaultTo(1).check(sql`quantity > 0`))
    .addColumn('amount_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .check(
          oneOf('status', ['held', 'confirmed', 'waitlisted', 'offered', 'cancelled', 'expired', 'refunded']),
        ),
    )
    .addColumn('is_group_booking', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('access_needs', 'text')
    .addColumn('privacy_consent_at', 'timestamptz', (col) => col.notNull())
    .addColumn('hold_expires_at', 'timestamptz')
    .addColumn('waitlisted_at', 'timestamptz')
    .addColumn('offer_expires_at', 'timestamptz')
    .addColumn('checkin_token', 'text', (col) => col.unique())
    .addColumn('checked_in_at', 'timestamptz')
    .addColumn('reminder_sent_at', 'timestamptz')
    .addColumn('stripe_checkout_session_id', 'text', (col) => col.unique())
    .addColumn('stripe_payment_intent_id', 'text', (col) => col.unique())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  // One live registration per person and event, unless it is deliberately a group booking.
  await db.schema
    .createIndex('registrations_one_live_per_email')
    .on('registrations')
    .unique()
    .expression(sql`event_id, lower(email)`)
    .where(sql<boolean>`status in ('held', 'confirmed', 'waitlisted', 'offered') and not is_group_booking`)
    .execute()
  await db.schema
    .createIndex('registrations_event_status_idx')
    .on('registrations')
    .columns(['event_id', 'status', 'waitlisted_at'])
    .execute()

  await db.schema
    .createTable('savers')
    // The anonymous id in a browser's signed cookie; an email joins devices together.
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('supporter_id', 'uuid', (col) => col.references('supporters.id'))
    .addColumn('alerts_reminder', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('alerts_few_places', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('savers_supporter_idx').on('savers').column('supporter_id').execute()

  await db.schema
    .createTable('saved_events')
    .addColumn('saver_id', 'uuid', (col) => col.notNull().references('savers.id').onDelete('cascade'))
    .addColumn('event_id', 'uuid', (col) => col.notNull().references('events.id').onDelete('cascade'))
    .addColumn('reminder_sent_at', 'timestamptz')
    .addColumn('few_places_sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('saved_events_pkey', ['saver_id', 'event_id'])
    .execute()
  await db.schema.createIndex('saved_events_event_idx').on('saved_events').column('event_id').execute()

  // ── Integrations ────────────────────────────────────────────────────────────────────────────
  // One row per provider event, written in the same transaction as its effects.
  await db.schema
    .createTable('webhook_events')
    .addColumn('provider', 'text', (col) => col.notNull().check(oneOf('provider', ['stripe', 'resend'])))
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('webhook_events_pkey', ['provider', 'event_id'])
    .execute()

  await db.schema
    .createTable('email_outbox')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('template', 'text', (col) => col.notNull())
    // `<kind>/<entity id>`: the Resend idempotency key, and our guard against sending twice.
    .addColumn('idempotency_key', 'text', (col) => col.notNull().unique())
    .addColumn('to_address', 'text', (col) => col.notNull())
    .addColumn('props', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('queued')
        .check(oneOf('status', ['queued', 'sending', 'sent', 'failed', 'suppressed'])),
    )
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('provider_message_id', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
  await db.schema.createIndex('email_outbox_status_idx').on('email_outbox').columns(['status', 'created_at']).execute()
  await db.schema.createIndex('email_outbox_provider_message_idx').on('email_outbox').column('provider_message_id').execute()

  // Development only: where emails land when no Resend key is set.
  await db.schema
    .createTable('dev_mailbox')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(id))
    .addColumn('outbox_id', 'uuid', (col) => col.references('email_outbox.id').onDelete('cascade'))
    .addColumn('from_address', 'text', (col) => col.notNull())
    .addColumn('to_address', 'text', (col) => col.notNull())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('html', 'text', (col) => col.notNull())
    .addColumn('text', 'text', (col) => col.notNull())
    .addColumn('attachments', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(now))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  const tables = [
    'dev_mailbox',
    'email_outbox',
    'webhook_events',
    'saved_events',
    'savers',
    'registrations',
    'ticket_types',
    'events',
    'donation_events',
    'ledger_entries',
    'donations',
    'recurring_plans',
    'gift_aid_declarations',
    'appeal_updates',
    'appeal_totals',
    'appeals',
    'email_suppressions',
    'supporters',
    'audit_log',
    'staff_sign_in_tokens',
    'staff_sessions',
    'staff_users',
    'testimonials',
    'organisation',
  ]
  for (const table of tables) await db.schema.dropTable(table).execute()
}
