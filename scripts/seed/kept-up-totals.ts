import { sql, type Kysely } from 'kysely'
import type { DB } from '#db/schema.ts'

/**
 * Rebuilds every kept-up total from the ledger, donations and plans, into shard 0 of each key.
 * For data written straight into the tables (the demo seed, benchmarks); the app itself keeps the
 * totals up in each ledger transaction and never needs this.
 */
export async function rebuildKeptUpTotals(db: Kysely<DB>) {
  await sql`delete from appeal_total_shards`.execute(db)
  await sql`delete from appeal_donors`.execute(db)
  await sql`delete from organisation_donors`.execute(db)
  await sql`delete from organisation_donor_shards`.execute(db)
  await sql`delete from appeal_daily_gift_shards`.execute(db)
  await sql`delete from appeal_plan_shards`.execute(db)
  await sql`
    insert into appeal_donors (appeal_id, supporter_id, first_donation_id)
    select distinct on (appeal_id, supporter_id) appeal_id, supporter_id, id
    from donations where status = 'confirmed' order by appeal_id, supporter_id, confirmed_at`.execute(db)
  await sql`
    insert into organisation_donors (currency, supporter_id)
    select distinct a.currency, d.supporter_id from appeal_donors d join appeals a on a.id = d.appeal_id`.execute(db)
  await sql`
    insert into organisation_donor_shards (currency, shard, donor_count)
    select currency, 0, count(*) from organisation_donors group by currency`.execute(db)
  await sql`
    insert into appeal_total_shards
      (appeal_id, shard, confirmed_gross_minor, refunded_minor, disputed_minor, donation_count, donor_count, gift_aid_eligible_minor)
    select a.id, 0,
           coalesce((select sum(amount_minor) from ledger_entries where appeal_id = a.id and kind = 'charge'), 0),
           coalesce((select -sum(amount_minor) from ledger_entries where appeal_id = a.id and kind = 'refund'), 0),
           coalesce((select -sum(amount_minor) from ledger_entries where appeal_id = a.id and kind in ('dispute_hold', 'dispute_release')), 0),
           (select count(*) from ledger_entries where appeal_id = a.id and kind = 'charge'),
           (select count(*) from appeal_donors where appeal_id = a.id),
           coalesce((select sum(l.amount_minor) from ledger_entries l join donations d on d.id = l.donation_id
                     where l.appeal_id = a.id and d.gift_aid_declaration_id is not null), 0)
    from appeals a`.execute(db)
  await sql`
    insert into appeal_daily_gift_shards (appeal_id, day, shard, currency, gross_minor, donation_count)
    select appeal_id, (occurred_at at time zone 'UTC')::date, 0, currency, sum(amount_minor), count(*)
    from ledger_entries where kind = 'charge'
    group by appeal_id, 2, currency`.execute(db)
  await sql`
    insert into appeal_plan_shards (appeal_id, shard, active_count, monthly_minor)
    select appeal_id, 0, count(*), sum(amount_minor) from recurring_plans where status = 'active' group by appeal_id`.execute(db)
}
