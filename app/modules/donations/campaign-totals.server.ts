import { sql } from 'kysely'
import { z } from 'zod'
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
 * Progress counts money kept (net), so a refunded gift does not still fill the bar. Gift Aid is
 * not counted here: it has one definition, by tax year, in gift-aid.server.ts (ADR 017).
 */
export async function getCampaignTotals(db: Database): Promise<{ appeals: AppealCampaignTotals[]; organisation: CurrencyTotals[] }> {
  const rows = await db
    .selectFrom('appeals as a')
    .innerJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('appeal_plan_shards')
          .select('appeal_id')
          .select([
            sql<number>`sum(active_count)::bigint`.as('plan_count'),
            sql<number>`sum(monthly_minor)::bigint`.as('monthly_minor'),
          ])
          .groupBy('appeal_id')
          .as('p'),
      (join) => join.onRef('p.appeal_id', '=', 'a.id'),
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
      't.net_minor',
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
    const netMinor = row.net_minor
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
  // The kept-up count (organisation_donors decides who is new) costs the same at any size.
  const donorsByCurrency = await db
    .selectFrom('organisation_donor_shards')
    .select(['currency', sql<number>`sum(donor_count)::bigint`.as('donors')])
    .groupBy('currency')
    .execute()
  const donors = new Map(donorsByCurrency.map((row) => [row.currency.trim(), row.donors]))

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

export const DEFAULT_RANGE_DAYS = 30
/** Longer ranges than this are shown per week rather than per day. */
export const DAILY_LIMIT_DAYS = 92
/** The longest range the page will sum, so one request cannot ask for decades of ledger. */
export const MAX_RANGE_DAYS = 1_096

const DAY_MS = 24 * 60 * 60 * 1000

export type GiftsRange = { from: string; to: string; unit: 'day' | 'week' }
export type GiftsBucket = { start: string; grossMinor: number }
export type GiftsSeries = { currency: string; buckets: GiftsBucket[] }

const isoDay = (date: Date) => date.toISOString().slice(0, 10)
const dayStart = (day: string) => new Date(`${day}T00:00:00.000Z`)

const calendarDate = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Dates must be written as YYYY-MM-DD.')
  .refine((value) => {
    const date = dayStart(value)
    return !Number.isNaN(date.getTime()) && isoDay(date) === value
  }, 'That date does not exist.')

const rangeSchema = z
  .object({ from: calendarDate.optional(), to: calendarDate.optional() })
  .transform((value, context) => {
    const to = value.to ?? (value.from ? isoDay(new Date(Math.max(Date.now(), dayStart(value.from).getTime()))) : isoDay(new Date()))
    const from = value.from ?? isoDay(new Date(dayStart(to).getTime() - (DEFAULT_RANGE_DAYS - 1) * DAY_MS))
    const days = Math.round((dayStart(to).getTime() - dayStart(from).getTime()) / DAY_MS) + 1
    if (days < 1) {
      context.addIssue({ code: z.ZodIssueCode.custom, message: 'The start date must be on or before the end date.' })
      return z.NEVER
    }
    if (days > MAX_RANGE_DAYS) {
      context.addIssue({ code: z.ZodIssueCode.custom, message: `Choose a range of at most ${MAX_RANGE_DAYS} days.` })
      return z.NEVER
    }
    return { from, to, unit: days > DAILY_LIMIT_DAYS ? 'week' : 'day' } satisfies GiftsRange
  })

/**
 * The `from` and `to` of the totals page's form (YYYY-MM-DD, both days included, UTC). Missing
 * values default to the last thirty days; an empty field counts as missing.
 */
export function parseGiftsRange(
  params: URLSearchParams,
): { ok: true; range: GiftsRange } | { ok: false; error: string; fields: { from: string; to: string } } {
  const raw = { from: params.get('from') ?? '', to: params.get('to') ?? '' }
  const parsed = rangeSchema.safeParse({ from: raw.from.trim() || undefined, to: raw.to.trim() || undefined })
  if (parsed.success) return { ok: true, range: parsed.data }
  return { ok: false, error: parsed.error.issues[0]?.message ?? 'That range is not valid.', fields: raw }
}

/** The first day of every bucket in the range, in order: each day, or each Monday-started week (UTC). */
export function bucketStarts(range: GiftsRange): string[] {
  let cursor = dayStart(range.from)
  if (range.unit === 'week') cursor = new Date(cursor.getTime() - ((cursor.getUTCDay() + 6) % 7) * DAY_MS)
  const end = dayStart(range.to).getTime()
  const step = range.unit === 'week' ? 7 * DAY_MS : DAY_MS
  const starts: string[] = []
  for (let time = cursor.getTime(); time <= end; time += step) starts.push(isoDay(new Date(time)))
  return starts
}

/**
 * Confirmed gross per day (or week) and currency over a range, from the daily totals kept up in
 * each confirmation's transaction (so the cost follows the days shown, not the donations). Read
 * appeal by appeal so each read is a primary-key range scan; empty buckets are filled in as zeros.
 * Amounts in different currencies stay apart. With `appealId`, only that appeal's gifts. Also
 * each appeal's gross and number of gifts over the whole range.
 */
export type AppealGiftsInRange = { appealId: string; currency: string; grossMinor: number; donationCount: number }

export async function getGiftsOverTime(
  db: Database,
  range: GiftsRange,
  appealId?: string,
): Promise<{ series: GiftsSeries[]; byAppeal: AppealGiftsInRange[] }> {
  const rows = await db
    .selectFrom('appeals as a')
    .$if(appealId !== undefined, (query) => query.where('a.id', '=', appealId!))
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('appeal_daily_gift_shards as g')
          .select([
            'g.currency',
            sql<string>`to_char(date_trunc(${range.unit}, g.day::timestamp), 'YYYY-MM-DD')`.as('bucket'),
            sql<number>`sum(g.gross_minor)::bigint`.as('gross'),
            sql<number>`sum(g.donation_count)::bigint`.as('donations'),
          ])
          .whereRef('g.appeal_id', '=', 'a.id')
          .where('g.day', '>=', sql<Date>`${range.from}::date`)
          .where('g.day', '<=', sql<Date>`${range.to}::date`)
          .groupBy(['g.currency', sql`2`])
          .as('l'),
      (join) => join.onTrue(),
    )
    .select(['a.id', 'l.currency', 'l.bucket', 'l.gross', 'l.donations'])
    .execute()

  const starts = bucketStarts(range)
  const byCurrency = new Map<string, Map<string, number>>()
  const byAppeal = new Map<string, AppealGiftsInRange>()
  for (const row of rows) {
    const currency = row.currency.trim()
    const sums = byCurrency.get(currency) ?? new Map<string, number>()
    sums.set(row.bucket, (sums.get(row.bucket) ?? 0) + Number(row.gross))
    byCurrency.set(currency, sums)
    const appeal = byAppeal.get(row.id) ?? { appealId: row.id, currency, grossMinor: 0, donationCount: 0 }
    appeal.grossMinor += Number(row.gross)
    appeal.donationCount += Number(row.donations)
    byAppeal.set(row.id, appeal)
  }
  const series = [...byCurrency.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, sums]) => ({ currency, buckets: starts.map((start) => ({ start, grossMinor: sums.get(start) ?? 0 })) }))
  return { series, byAppeal: [...byAppeal.values()] }
}

/**
 * Net money kept since the start of this calendar month in the organisation's time zone, per
 * currency: the ledger's signed entries (charges less refunds and disputed money) that happened
 * this month, whenever the gift was made. Read appeal by appeal so each read is a range scan of
 * ledger_entries_appeal_idx: the cost follows this month's entries, not the whole ledger.
 */
export async function getNetThisMonth(db: Database, timeZone: string, now = new Date()): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('appeals as a')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('ledger_entries as l')
          .select(['l.currency', sql<number>`sum(l.amount_minor)::bigint`.as('net')])
          .whereRef('l.appeal_id', '=', 'a.id')
          .where('l.occurred_at', '>=', sql<Date>`date_trunc('month', ${now}::timestamptz at time zone ${timeZone}) at time zone ${timeZone}`)
          .groupBy('l.currency')
          .as('m'),
      (join) => join.onTrue(),
    )
    .select(['m.currency', 'm.net'])
    .execute()
  const byCurrency = new Map<string, number>()
  for (const row of rows) byCurrency.set(row.currency.trim(), (byCurrency.get(row.currency.trim()) ?? 0) + Number(row.net))
  return byCurrency
}
