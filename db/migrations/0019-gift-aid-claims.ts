import { sql, type Kysely } from 'kysely'

/**
 * Gift Aid claims (docs/decisions/017): a claim batch is what staff marked as sent to HMRC in one
 * Charities Online claim, with the gifts its schedule listed and the amount of each as claimed.
 * - `gift_aid_claim_gifts.donation_id` is the primary key, so the database itself refuses a gift in
 *   a second claim, whatever two staff members do at the same moment.
 * - `gift_aid_claim_adjustments`: money given back (a refund, a lost dispute) after its gift was
 *   claimed, entered as an over-claim adjustment with a later claim; it can only name a gift that
 *   was claimed, and once per claim.
 * No column holds personal data: the schedule's names and addresses stay on the declarations.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('gift_aid_claims')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // The schedule's dates (UK days, inclusive): which gifts the claim looked at.
    .addColumn('gifts_from', 'date', (col) => col.notNull())
    .addColumn('gifts_to', 'date', (col) => col.notNull())
    .addColumn('staff_user_id', 'uuid', (col) => col.references('staff_users.id').onDelete('set null'))
    .addColumn('claimed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('gift_aid_claims_dates_in_order', sql`gifts_from <= gifts_to`)
    .execute()

  await db.schema
    .createTable('gift_aid_claim_gifts')
    .addColumn('donation_id', 'uuid', (col) => col.primaryKey().references('donations.id'))
    .addColumn('claim_id', 'uuid', (col) => col.notNull().references('gift_aid_claims.id'))
    .addColumn('amount_minor', 'bigint', (col) => col.notNull().check(sql`amount_minor > 0`))
    .execute()
  await db.schema.createIndex('gift_aid_claim_gifts_claim_idx').on('gift_aid_claim_gifts').column('claim_id').execute()

  await db.schema
    .createTable('gift_aid_claim_adjustments')
    .addColumn('claim_id', 'uuid', (col) => col.notNull().references('gift_aid_claims.id'))
    .addColumn('donation_id', 'uuid', (col) => col.notNull().references('gift_aid_claim_gifts.donation_id'))
    .addColumn('amount_minor', 'bigint', (col) => col.notNull().check(sql`amount_minor > 0`))
    .addPrimaryKeyConstraint('gift_aid_claim_adjustments_pkey', ['claim_id', 'donation_id'])
    .execute()
  await db.schema.createIndex('gift_aid_claim_adjustments_donation_idx').on('gift_aid_claim_adjustments').column('donation_id').execute()

  // The schedule and the Gift Aid figures read declared, confirmed gifts by date, across appeals.
  await db.schema
    .createIndex('donations_gift_aid_confirmed_idx')
    .on('donations')
    .columns(['confirmed_at', 'id'])
    .where(sql<boolean>`gift_aid_declaration_id is not null and status = 'confirmed'`)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('donations_gift_aid_confirmed_idx').execute()
  await db.schema.dropTable('gift_aid_claim_adjustments').execute()
  await db.schema.dropTable('gift_aid_claim_gifts').execute()
  await db.schema.dropTable('gift_aid_claims').execute()
}
