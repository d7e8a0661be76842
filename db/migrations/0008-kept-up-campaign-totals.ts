import { sql, type Kysely } from 'kysely'

/**
 * Everything the staff totals page shows, kept up in the ledger's own transactions so the page
 * costs the same at a million donations as at a thousand:
 * - `appeal_total_shards` gains the Gift Aid-eligible net amount;
 * - `organisation_donors` (one row per currency and supporter, its primary key deciding who is new)
 *   and `organisation_donor_shards` count the organisation's unique donors per currency;
 * - `appeal_daily_gift_shards` holds confirmed gross per appeal and UTC day, for the chart;
 * - `appeal_plan_shards` holds active monthly gifts and their income per appeal, kept by a trigger
 *   because a plan's status changes in many places (webhooks, the stop link, staff).
 * Each is sharded like `appeal_total_shards` so concurrent webhooks for one appeal seldom wait.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('appeal_total_shards')
    .addColumn('gift_aid_eligible_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()
  await sql`
    insert into appeal_total_shards (appeal_id, shard, gift_aid_eligible_minor)
    select l.appeal_id, 0, sum(l.amount_minor)::bigint
    from ledger_entries l join donations d on d.id = l.donation_id
    where d.gift_aid_declaration_id is not null
    group by l.appeal_id
    on conflict (appeal_id, shard) do update set gift_aid_eligible_minor = excluded.gift_aid_eligible_minor`.execute(db)

  await db.schema
    .createTable('organisation_donors')
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('supporter_id', 'uuid', (col) => col.notNull().references('supporters.id'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('organisation_donors_pkey', ['currency', 'supporter_id'])
    .execute()
  await sql`
    insert into organisation_donors (currency, supporter_id)
    select distinct a.currency, d.supporter_id from appeal_donors d join appeals a on a.id = d.appeal_id`.execute(db)

  await db.schema
    .createTable('organisation_donor_shards')
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('shard', 'smallint', (col) => col.notNull().check(sql`shard between 0 and 15`))
    .addColumn('donor_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('organisation_donor_shards_pkey', ['currency', 'shard'])
    .execute()
  await sql`
    insert into organisation_donor_shards (currency, shard, donor_count)
    select currency, 0, count(*) from organisation_donors group by currency`.execute(db)

  await db.schema
    .createTable('appeal_daily_gift_shards')
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id').onDelete('cascade'))
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('shard', 'smallint', (col) => col.notNull().check(sql`shard between 0 and 15`))
    .addColumn('currency', 'char(3)', (col) => col.notNull())
    .addColumn('gross_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('donation_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('appeal_daily_gift_shards_pkey', ['appeal_id', 'day', 'shard'])
    .execute()
  await sql`
    insert into appeal_daily_gift_shards (appeal_id, day, shard, currency, gross_minor, donation_count)
    select appeal_id, (occurred_at at time zone 'UTC')::date, 0, currency, sum(amount_minor), count(*)
    from ledger_entries where kind = 'charge'
    group by appeal_id, 2, currency`.execute(db)

  await db.schema
    .createTable('appeal_plan_shards')
    .addColumn('appeal_id', 'uuid', (col) => col.notNull().references('appeals.id').onDelete('cascade'))
    .addColumn('shard', 'smallint', (col) => col.notNull().check(sql`shard between 0 and 15`))
    .addColumn('active_count', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('monthly_minor', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('appeal_plan_shards_pkey', ['appeal_id', 'shard'])
    .execute()
  await sql`
    insert into appeal_plan_shards (appeal_id, shard, active_count, monthly_minor)
    select appeal_id, 0, count(*), sum(amount_minor) from recurring_plans where status = 'active' group by appeal_id`.execute(db)
  await sql`
    create function keep_appeal_plan_totals() returns trigger language plpgsql as $$
    declare
      old_active boolean := tg_op <> 'INSERT' and old.status = 'active';
      new_active boolean := tg_op <> 'DELETE' and new.status = 'active';
    begin
      if old_active then
        insert into appeal_plan_shards as s (appeal_id, shard, active_count, monthly_minor)
        values (old.appeal_id, floor(random() * 16)::smallint, -1, -old.amount_minor)
        on conflict (appeal_id, shard) do update
          set active_count = s.active_count + excluded.active_count, monthly_minor = s.monthly_minor + excluded.monthly_minor;
      end if;
      if new_active then
        insert into appeal_plan_shards as s (appeal_id, shard, active_count, monthly_minor)
        values (new.appeal_id, floor(random() * 16)::smallint, 1, new.amount_minor)
        on conflict (appeal_id, shard) do update
          set active_count = s.active_count + excluded.active_count, monthly_minor = s.monthly_minor + excluded.monthly_minor;
      end if;
      return null;
    end
    $$`.execute(db)
  await sql`
    create trigger recurring_plans_keep_totals
    after insert or update of status, amount_minor, appeal_id or delete on recurring_plans
    for each row execute function keep_appeal_plan_totals()`.execute(db)

  await sql`drop view appeal_totals`.execute(db)
  await sql`
    create view appeal_totals as
    select a.id as appeal_id,
           a.currency,
           coalesce(sum(s.confirmed_gross_minor), 0)::bigint as confirmed_gross_minor,
           coalesce(sum(s.refunded_minor), 0)::bigint as refunded_minor,
           coalesce(sum(s.disputed_minor), 0)::bigint as disputed_minor,
           coalesce(sum(s.donation_count), 0)::bigint as donation_count,
           coalesce(sum(s.donor_count), 0)::bigint as donor_count,
           coalesce(max(s.updated_at), a.created_at) as updated_at,
           coalesce(sum(s.gift_aid_eligible_minor), 0)::bigint as gift_aid_eligible_minor
    from appeals a
    left join appeal_total_shards s on s.appeal_id = a.id
    group by a.id, a.currency, a.created_at`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view appeal_totals`.execute(db)
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
  await sql`drop trigger recurring_plans_keep_totals on recurring_plans`.execute(db)
  await sql`drop function keep_appeal_plan_totals()`.execute(db)
  await db.schema.dropTable('appeal_plan_shards').execute()
  await db.schema.dropTable('appeal_daily_gift_shards').execute()
  await db.schema.dropTable('organisation_donor_shards').execute()
  await db.schema.dropTable('organisation_donors').execute()
  await db.schema.alterTable('appeal_total_shards').dropColumn('gift_aid_eligible_minor').execute()
}
