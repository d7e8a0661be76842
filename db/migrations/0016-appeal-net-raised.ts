import { sql, type Kysely } from 'kysely'

/**
 * `appeal_totals.net_minor`: what an appeal has kept, confirmed gifts less refunds and money held
 * or lost in disputes (a dispute won gives it back). The public "raised" figure and progress bar
 * show this, not gross, so a refunded gift no longer counts; the sum here is the one formula every
 * reader uses, and equals the sum of the appeal's ledger entries.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await replaceAppealTotalsView(db, sql`,
           coalesce(sum(s.confirmed_gross_minor - s.refunded_minor - s.disputed_minor), 0)::bigint as net_minor`)
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceAppealTotalsView(db, sql``)
}

/**
 * The view as 0008 left it, plus any extra columns. Written out here, not imported, because a
 * migration must keep meaning what it meant when it ran, whatever later code says.
 */
async function replaceAppealTotalsView(db: Kysely<any>, extraColumns: ReturnType<typeof sql>) {
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
           coalesce(sum(s.gift_aid_eligible_minor), 0)::bigint as gift_aid_eligible_minor${extraColumns}
    from appeals a
    left join appeal_total_shards s on s.appeal_id = a.id
    group by a.id, a.currency, a.created_at`.execute(db)
}
