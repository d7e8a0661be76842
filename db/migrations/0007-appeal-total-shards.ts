import { sql, type Kysely } from 'kysely'

/**
 * Appeal totals kept in sixteen rows per appeal instead of one. Each money transaction adds its
 * change to one row picked at random, so concurrent webhooks for a busy appeal rarely wait on each
 * other's commit; `appeal_totals` becomes a view summing at most sixteen rows, still constant cost
 * at any number of donations. Every change is still made in the ledger's own transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('appeal_total_shards')
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id').onDelete('cascade'))
    .addColumn('shard', 'smallint', (col) => col.notNull().check(sql`shard between 0 and 15`))
    .addColumn('confirmed_gross_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('refunded_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('disputed_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donation_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donor_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('appeal_total_shards_pkey', ['appeal_id', 'shard'])
    .execute()
  await sql`
    insert into appeal_total_shards
      (appeal_id, shard, confirmed_gross_minor, refunded_minor, disputed_minor, donation_count, donor_count, updated_at)
    select appeal_id, 0, confirmed_gross_minor, refunded_minor, disputed_minor, donation_count, donor_count, updated_at
    from appeal_totals`.execute(db)
  await db.schema.dropTable('appeal_totals').execute()
  await sql`
    create view appeal_totals as
    select a.id as appeal_id,
           a.currency,
           coalesce(sum(s.confirmed_gross_minor), 0)::bigint as confirmed_gross_minor,
           coalesce(sum(s.refunded_minor), 0)::bigint as refunded_minor,
           coalesce(sum(s.disputed_minor), 0)::bigint as disputed_minor,
           coalesce(sum(s.donation_count), 0)::bigint as donation_count,
           coalesce(sum(s.donor_count), 0)::bigint as donor_count,
           coalesce(max(s.updated_at), a.created_at) as updated_at
    from appeals a
    left join appeal_total_shards s on s.appeal_id = a.id
    group by a.id, a.currency, a.created_at`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view appeal_totals`.execute(db)
  await sql`
    create table appeal_totals as
    select appeal_id, (select currency from appeals where id = appeal_id) as currency,
           sum(confirmed_gross_minor)::bigint as confirmed_gross_minor, sum(refunded_minor)::bigint as refunded_minor,
           sum(disputed_minor)::bigint as disputed_minor, sum(donation_count)::bigint as donation_count,
           sum(donor_count)::bigint as donor_count, max(updated_at) as updated_at
    from appeal_total_shards group by appeal_id`.execute(db)
  await db.schema.dropTable('appeal_total_shards').execute()
}
