import { sql } from 'kysely'
import type { AppealStatus } from '#db/schema.ts'
import type { Database } from '#app/utils/db.server.ts'
import { progressPercent } from '#app/utils/money.ts'

export type AppealCampaignTotals = {
  appealId: string
  slug: string
  title: string
  status: AppealStatus
  currency: string
  goalMinor: number
  grossMinor: number
  refundedMinor: number
  disputedMinor: number
  netMinor: number
  donationCount: number
  donorCount: number
  progressPercent: number
  activeMonthlyCount: number
  monthlyIncomeMinor: number
}

export type CurrencyTotals = {
  currency: string
  appealCount: number
  grossMinor: number
  refundedMinor: number
  disputedMinor: number
  netMinor: number
  donationCount: number
  donorCount: number
  activeMonthlyCount: number
  monthlyIncomeMinor: number
}

/**
 * Every appeal's money in its own currency, from the kept-up totals (constant cost per appeal),
 * and the organisation's per currency: amounts in different currencies are never added together.
 * Progress counts money kept (net), so a refunded gift does not still fill the bar.
 */
export async function getCampaignTotals(db: Database): Promise<{ appeals: AppealCampaignTotals[]; organisation: CurrencyTotals[] }> {
  const rows = await db
    .selectFrom('appeals as a')
    .innerJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('recurring_plans')
          .select(['appeal_id', 'currency'])
          .select((inner) => [
            inner.fn.countAll<number>().as('plan_count'),
            sql<number>`coalesce(sum(amount_minor), 0)::bigint`.as('monthly_minor'),
          ])
          .where('status', '=', 'active')
          .groupBy(['appeal_id', 'currency'])
          .as('p'),
      (join) => join.onRef('p.appeal_id', '=', 'a.id').onRef('p.currency', '=', 'a.currency'),
    )
    .select([
      'a.id',
      'a.slug',
      'a.title',
      'a.status',
      'a.currency',
      'a.goal_minor',
      't.confirmed_gross_minor',
      't.refunded_minor',
      't.disputed_minor',
      't.donation_count',
      't.donor_count',
      'p.plan_count',
      'p.monthly_minor',
    ])
    .orderBy(sql`case a.status when 'published' then 0 when 'draft' then 1 else 2 end`)
    .orderBy('a.created_at')
    .orderBy('a.id')
    .execute()

  const appeals = rows.map((row): AppealCampaignTotals => {
    const netMinor = row.confirmed_gross_minor - row.refunded_minor - row.disputed_minor
    return {
      appealId: row.id,
      slug: row.slug,
      title: row.title,
      status: row.status,
      currency: row.currency,
      goalMinor: row.goal_minor,
      grossMinor: row.confirmed_gross_minor,
      refundedMinor: row.refunded_minor,
      disputedMinor: row.disputed_minor,
      netMinor,
      donationCount: row.donation_count,
      donorCount: row.donor_count,
      progressPercent: progressPercent(netMinor, row.goal_minor),
      activeMonthlyCount: Number(row.plan_count ?? 0),
      monthlyIncomeMinor: Number(row.monthly_minor ?? 0),
    }
  })

  // One person giving to two appeals is one donor to the organisation, so donors are counted
  // again here rather than added up from the appeals.
  const donorsByCurrency = await db
    .selectFrom('appeal_donors as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .select(['a.currency', sql<number>`count(distinct d.supporter_id)::bigint`.as('donors')])
    .groupBy('a.currency')
    .execute()
  const donors = new Map(donorsByCurrency.map((row) => [row.currency, row.donors]))

  const byCurrency = new Map<string, CurrencyTotals>()
  for (const appeal of appeals) {
    const totals = byCurrency.get(appeal.currency) ?? {
      currency: appeal.currency,
      appealCount: 0,
      grossMinor: 0,
      refundedMinor: 0,
      disputedMinor: 0,
      netMinor: 0,
      donationCount: 0,
      donorCount: donors.get(appeal.currency) ?? 0,
      activeMonthlyCount: 0,
      monthlyIncomeMinor: 0,
    }
    totals.appealCount += 1
    totals.grossMinor += appeal.grossMinor
    totals.refundedMinor += appeal.refundedMinor
    totals.disputedMinor += appeal.disputedMinor
    totals.netMinor += appeal.netMinor
    totals.donationCount += appeal.donationCount
    totals.activeMonthlyCount += appeal.activeMonthlyCount
    totals.monthlyIncomeMinor += appeal.monthlyIncomeMinor
    byCurrency.set(appeal.currency, totals)
  }
  const organisation = [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency))
  return { appeals, organisation }
}
