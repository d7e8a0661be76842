import { sql, type Kysely } from 'kysely'

/**
 * One row per donor and appeal, written when their first gift is confirmed. Its primary key makes
 * "is this a new donor?" exact under concurrency without locking the appeal's totals row early,
 * so confirmations for one appeal hold that row only for their last statement.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('appeal_donors')
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id').onDelete('cascade'))
    .addColumn('supporter_id', 'uuid', (col) => col.notNull().references('supporters.id'))
    .addColumn('first_donation_id', 'uuid', (col) => col.notNull().references('donations.id'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('appeal_donors_pkey', ['appeal_id', 'supporter_id'])
    .execute()
  await sql`
    insert into appeal_donors (appeal_id, supporter_id, first_donation_id)
    select distinct on (appeal_id, supporter_id) appeal_id, supporter_id, id
    from donations where status = 'confirmed'
    order by appeal_id, supporter_id, confirmed_at`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('appeal_donors').execute()
}
