import { sql, type Kysely } from 'kysely'

/**
 * Staff sign-in without lockouts, and a second factor (docs/decisions/020).
 *
 * - `staff_sign_in_failures`: wrong passwords counted per account AND client address together,
 *   both as hashes (never the address or the email), so one address's guesses slow down only that
 *   address on that account. A success deletes the row.
 * - `staff_users.sign_in_link_sent_at`: when the last sign-in link email went to this member, so
 *   at most one goes every few minutes however often the form is used.
 * - `staff_users.totp_*`: the TOTP secret (encrypted), the one being set up, when it was turned
 *   on, and the last time step used (a code is never accepted twice).
 * - `staff_recovery_codes`: single-use recovery codes, stored as hashes only.
 * - `staff_sign_in_challenges`: a sign-in that passed its first step and waits for the code; the
 *   browser holds the token, the table its hash.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('staff_sign_in_failures')
    .addColumn('account_key', 'text', (col) => col.notNull())
    .addColumn('client_key', 'text', (col) => col.notNull())
    .addColumn('failures', 'integer', (col) => col.notNull())
    .addColumn('last_failed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('staff_sign_in_failures_pkey', ['account_key', 'client_key'])
    .execute()
  await db.schema.createIndex('staff_sign_in_failures_last_failed_at_idx').on('staff_sign_in_failures').column('last_failed_at').execute()

  await db.schema
    .alterTable('staff_users')
    .addColumn('sign_in_link_sent_at', 'timestamptz')
    .addColumn('totp_secret', 'text')
    .addColumn('totp_pending_secret', 'text')
    .addColumn('totp_pending_at', 'timestamptz')
    .addColumn('totp_enabled_at', 'timestamptz')
    .addColumn('totp_last_step', 'bigint')
    .execute()

  await db.schema
    .createTable('staff_recovery_codes')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('staff_user_id', 'uuid', (col) => col.notNull().references('staff_users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (col) => col.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('staff_recovery_codes_staff_user_id_idx').on('staff_recovery_codes').column('staff_user_id').execute()

  await db.schema
    .createTable('staff_sign_in_challenges')
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('staff_user_id', 'uuid', (col) => col.notNull().references('staff_users.id').onDelete('cascade'))
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('redirect_to', 'text', (col) => col.notNull().defaultTo('/staff'))
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('staff_sign_in_challenges_staff_user_id_idx').on('staff_sign_in_challenges').column('staff_user_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('staff_sign_in_challenges').execute()
  await db.schema.dropTable('staff_recovery_codes').execute()
  await db.schema
    .alterTable('staff_users')
    .dropColumn('sign_in_link_sent_at')
    .dropColumn('totp_secret')
    .dropColumn('totp_pending_secret')
    .dropColumn('totp_pending_at')
    .dropColumn('totp_enabled_at')
    .dropColumn('totp_last_step')
    .execute()
  await db.schema.dropTable('staff_sign_in_failures').execute()
}
