import { sql, type RawBuilder } from 'kysely'
import { z } from 'zod'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { minorToDecimal } from '#app/utils/money.ts'
import { pagedCsvStream, type CsvCell } from '#app/utils/csv.ts'
import { startOfNextDayInZone, startOfDayInZone } from '#app/utils/time-zone.server.ts'
import { EXPORT_PAGE_SIZE } from '#app/modules/donations/staff-donations.server.ts'
import { isoDateField } from '#app/utils/dates.ts'
import {
  GIFT_AID_TIME_ZONE,
  giftAidBonusMinor,
  HMRC_SCHEDULE_HOUSE_MAX,
  HMRC_SCHEDULE_NAME_MAX,
  overClaimedTaxMinor,
} from '#app/modules/donations/gift-aid.ts'

/**
 * Gift Aid on the ledger: the one definition of what can be claimed, the figures staff see, and
 * HMRC's Charities Online schedule as CSV. The rules without SQL (the declaration, who may claim,
 * what it adds, tax years) are in gift-aid.ts; claim batches in gift-aid-claims.server.ts.
 */

type Db = Database | DatabaseTransaction

/** UK days, both included. */
export type GiftAidRange = { from: string; to: string }

export const giftAidRangeSchema = z
  .object({ from: isoDateField(), to: isoDateField() })
  .refine((range) => range.from <= range.to, { message: 'The start date is after the end date', path: ['to'] })

/** The columns of HMRC's Charities Online Gift Aid schedule, in its order. */
export const GIFT_AID_CSV_HEADER = [
  'Title',
  'First name',
  'Last name',
  'House name or number',
  'Postcode',
  'Aggregated donations',
  'Sponsored event',
  'Donation date',
  'Amount',
] as const

/**
 * What a confirmed gift is worth now: its ledger entries summed (the charge, which includes a fee
 * the donor chose to cover, less refunds and money held or lost in disputes), never below nothing.
 * `d` is the donation.
 */
const giftNetMinor = sql<number>`greatest(0, (select coalesce(sum(l.amount_minor), 0) from ledger_entries l where l.donation_id = d.id))::bigint`

/** The gift's UK date as the schedule writes it, DD/MM/YY. `d` is the donation. */
const donationDate = sql<string>`to_char(d.confirmed_at at time zone ${GIFT_AID_TIME_ZONE}, 'DD/MM/YY')`

/** A declaration's text as one line: runs of white space made one space, none at either end. */
const oneLine = (column: RawBuilder<string>) => sql<string>`btrim(regexp_replace(${column}, '\\s+', ' ', 'g'))`
/** Cut to the schedule's limit, with no space left at the end (HMRC refuses boxes that end in one). */
const fit = (text: RawBuilder<string>, max: number) => sql<string>`rtrim(left(${text}, ${sql.lit(max)}))`

/**
 * Every confirmed GBP gift made under a declaration, in a range of UK days, with what HMRC's
 * schedule shows for it and whether it is in a claim. This is the one definition both the figures
 * (`getGiftAidSummary`) and the schedule (`giftAidCsvStream`) read, through `eligibleGifts`:
 * - what the donor gave, including a fee they chose to cover (HMRC: a fee paid out of a gift
 *   leaves the whole gift eligible, ADR 017), net of refunds and of disputes (open or lost);
 * - only confirmed money, and only pounds (Gift Aid is a UK scheme);
 * - a declaration cancelled later still covers the gifts made before it was cancelled;
 * - the gift's date is its UK date (GIFT_AID_TIME_ZONE), whatever the organisation's TIME_ZONE.
 * The name is split as the schedule wants it: the last word is the last name (hyphens made spaces,
 * as HMRC asks for double-barrelled names), the words before it the first name.
 */
export function giftAidGifts(db: Db, range: GiftAidRange) {
  const name = oneLine(sql.ref('g.full_name'))
  return db
    .selectFrom('donations as d')
    .innerJoin('gift_aid_declarations as g', 'g.id', 'd.gift_aid_declaration_id')
    .leftJoin('gift_aid_claim_gifts as c', 'c.donation_id', 'd.id')
    .select([
      'd.id',
      'd.confirmed_at',
      'c.claim_id',
      'c.amount_minor as claimed_minor',
      giftNetMinor.as('eligible_minor'),
      fit(sql`coalesce(substring(${name} from '^(.*) [^ ]+$'), '')`, HMRC_SCHEDULE_NAME_MAX).as('first_name'),
      fit(sql`btrim(regexp_replace(coalesce(substring(${name} from '([^ ]+)$'), ''), '-+', ' ', 'g'))`, HMRC_SCHEDULE_NAME_MAX).as('last_name'),
      fit(oneLine(sql.ref('g.house_name_or_number')), HMRC_SCHEDULE_HOUSE_MAX).as('house'),
      // Capitals with the space before the inward code, as HMRC asks: "n19gu" is "N1 9GU".
      sql<string>`regexp_replace(upper(regexp_replace(g.postcode, '\\s+', '', 'g')), '^(.+)([0-9][A-Z]{2})$', '\\1 \\2')`.as('postcode'),
      donationDate.as('donation_date'),
      // The instant to the microsecond, which a JavaScript Date would round: the next page starts after it.
      sql<string>`to_char(d.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'),
    ])
    .where('d.gift_aid_declaration_id', 'is not', null)
    .where('d.status', '=', 'confirmed')
    .where('d.currency', '=', 'GBP')
    .where((eb) => eb.or([eb('g.cancelled_at', 'is', null), eb('g.cancelled_at', '>', eb.ref('d.confirmed_at'))]))
    .where('d.confirmed_at', '>=', startOfDayInZone(range.from, GIFT_AID_TIME_ZONE))
    .where('d.confirmed_at', '<', startOfNextDayInZone(range.to, GIFT_AID_TIME_ZONE))
}

/**
 * The schedule cannot take a row without a first name, a last name, a house name or number and a
 * postcode (HMRC: leave a box blank only where it does not apply). A gift whose declaration lacks
 * one (a one-word name, say) is not claimable until it is put right, and is counted apart.
 */
const onSchedule = sql<boolean>`(e.first_name <> '' and e.last_name <> '' and e.house <> '' and e.postcode <> '')`
const hasMoney = sql<boolean>`(e.eligible_minor > 0)`
/** Eligible: money left, and a declaration the schedule can take. */
const isEligible = sql<boolean>`(${hasMoney} and ${onSchedule})`
/** Left out: it would be eligible, but its declaration lacks what the schedule needs (claimed gifts are the claims' business). */
const isLeftOut = sql<boolean>`(${hasMoney} and not ${onSchedule} and e.claim_id is null)`

/** The definition's rows as `e`, for the queries below to filter and sum. */
function fromGifts(db: Db, range: GiftAidRange) {
  return db.selectFrom(giftAidGifts(db, range).as('e'))
}

/** The gifts Gift Aid can be claimed on in a range: the definition's rows that have money left and fit the schedule. */
export function eligibleGifts(db: Db, range: GiftAidRange, which: 'all' | 'unclaimed') {
  return fromGifts(db, range)
    .where(isEligible)
    .$if(which === 'unclaimed', (query) => query.where('e.claim_id', 'is', null))
}

/**
 * Names a set of gifts and their amounts: staff mark as claimed exactly the set the page showed
 * them, and a gift that arrives or is refunded in between changes it.
 */
export function giftSetFingerprint(id: RawBuilder<unknown>, amount: RawBuilder<unknown>, filter?: RawBuilder<boolean>) {
  const only = filter ? sql`filter (where ${filter})` : sql``
  return sql<string>`md5(coalesce(string_agg(${id}::text || ':' || ${amount}::text, ',' order by ${id}) ${only}, ''))`
}

export type GiftAidSummary = {
  range: GiftAidRange
  /** Eligible gifts in the range, claimed or not, at what they are worth now. */
  eligibleCount: number
  eligibleMinor: number
  /** 25% of `eligibleMinor`. */
  giftAidMinor: number
  /** Eligible gifts in no claim yet: what the schedule lists by default, and the next claim. */
  unclaimedCount: number
  unclaimedMinor: number
  unclaimedGiftAidMinor: number
  unclaimedFingerprint: string
  /** Gifts in the range already in a claim, at the amounts claimed. */
  claimedCount: number
  claimedMinor: number
  /** Gifts that would be eligible but whose declaration lacks what the schedule needs. */
  incompleteCount: number
  incompleteMinor: number
}

/** The Gift Aid figures for a range of UK days: the dashboard's and the Gift Aid page's. */
export async function getGiftAidSummary(db: Db, range: GiftAidRange): Promise<GiftAidSummary> {
  const eligible = isEligible
  const unclaimed = sql<boolean>`(${eligible} and e.claim_id is null)`
  const incomplete = isLeftOut
  const row = await fromGifts(db, range)
    .select([
      sql<number>`count(*) filter (where ${eligible})`.as('eligible_count'),
      sql<number>`coalesce(sum(e.eligible_minor) filter (where ${eligible}), 0)::bigint`.as('eligible_minor'),
      sql<number>`count(*) filter (where ${unclaimed})`.as('unclaimed_count'),
      sql<number>`coalesce(sum(e.eligible_minor) filter (where ${unclaimed}), 0)::bigint`.as('unclaimed_minor'),
      giftSetFingerprint(sql`e.id`, sql`e.eligible_minor`, unclaimed).as('unclaimed_fingerprint'),
      sql<number>`count(*) filter (where e.claim_id is not null)`.as('claimed_count'),
      sql<number>`coalesce(sum(e.claimed_minor), 0)::bigint`.as('claimed_minor'),
      sql<number>`count(*) filter (where ${incomplete})`.as('incomplete_count'),
      sql<number>`coalesce(sum(e.eligible_minor) filter (where ${incomplete}), 0)::bigint`.as('incomplete_minor'),
    ])
    .executeTakeFirstOrThrow()
  return {
    range,
    eligibleCount: Number(row.eligible_count),
    eligibleMinor: row.eligible_minor,
    giftAidMinor: giftAidBonusMinor(row.eligible_minor),
    unclaimedCount: Number(row.unclaimed_count),
    unclaimedMinor: row.unclaimed_minor,
    unclaimedGiftAidMinor: giftAidBonusMinor(row.unclaimed_minor),
    unclaimedFingerprint: row.unclaimed_fingerprint,
    claimedCount: Number(row.claimed_count),
    claimedMinor: row.claimed_minor,
    incompleteCount: Number(row.incomplete_count),
    incompleteMinor: row.incomplete_minor,
  }
}

/** Up to `limit` gifts counted as incomplete, for staff to look at (ids and dates, no names). */
export function incompleteGifts(db: Db, range: GiftAidRange, limit = 50) {
  return fromGifts(db, range)
    .select(['e.id', 'e.donation_date', 'e.eligible_minor'])
    .where(isLeftOut)
    .orderBy('e.confirmed_at')
    .orderBy('e.id')
    .limit(limit)
    .execute()
}

/** How much of a claimed gift (`o`, from overClaimedGifts) was claimed and not yet adjusted but is gone now. */
export const overClaimedMinor = sql<number>`(o.claimed_minor - o.adjusted_minor - o.now_minor)::bigint`

/**
 * Claimed gifts worth less now than they were claimed at, less what earlier adjustments already
 * gave back: HMRC's over-claims, which go in the Adjustment box of the next claim. A claimed gift
 * can only be worth less after a refund or a dispute, so only those are looked at.
 */
export function overClaimedGifts(db: Db) {
  const claimed = db
    .selectFrom('gift_aid_claim_gifts as c')
    .innerJoin('donations as d', 'd.id', 'c.donation_id')
    .innerJoin('gift_aid_claims as k', 'k.id', 'c.claim_id')
    .select([
      'c.donation_id',
      'c.claim_id',
      'k.claimed_at',
      'd.confirmed_at',
      donationDate.as('donation_date'),
      'c.amount_minor as claimed_minor',
      giftNetMinor.as('now_minor'),
      sql<number>`(select coalesce(sum(a.amount_minor), 0) from gift_aid_claim_adjustments a where a.donation_id = c.donation_id)::bigint`.as('adjusted_minor'),
    ])
    .where((eb) => eb.or([eb('d.refunded_minor', '>', 0), eb('d.disputed_minor', '>', 0)]))
  return db.selectFrom(claimed.as('o')).where(sql<boolean>`${overClaimedMinor} > 0`)
}

export type PendingAdjustment = { overClaimedMinor: number; taxMinor: number; gifts: { donationId: string; claimId: string; donationDate: string; claimedMinor: number; nowMinor: number; overClaimedMinor: number }[] }

/** The adjustment the next claim must carry: every over-claim not yet adjusted, and the tax on it. */
export async function getPendingAdjustment(db: Db): Promise<PendingAdjustment> {
  const rows = await overClaimedGifts(db).selectAll('o').select(overClaimedMinor.as('over_claimed_minor')).orderBy('o.confirmed_at').orderBy('o.donation_id').execute()
  const total = rows.reduce((sum, row) => sum + row.over_claimed_minor, 0)
  return {
    overClaimedMinor: total,
    taxMinor: overClaimedTaxMinor(total),
    gifts: rows.map((row) => ({
      donationId: row.donation_id,
      claimId: row.claim_id,
      donationDate: row.donation_date,
      claimedMinor: row.claimed_minor,
      nowMinor: row.now_minor,
      overClaimedMinor: row.over_claimed_minor,
    })),
  }
}

type ScheduleRow = { id: string; cursor_at: string; first_name: string; last_name: string; house: string; postcode: string; donation_date: string; amount_minor: number }

/** One page of the schedule after `after`, oldest gift first. */
function schedulePage(db: Db, source: ScheduleSource, after: { at: string; id: string } | null, limit: number): Promise<ScheduleRow[]> {
  // A claim's own schedule: its gifts at the amounts claimed, whatever happened to them since.
  const rows = source.kind === 'claim' ? fromGifts(db, source.range).where('e.claim_id', '=', source.claimId) : eligibleGifts(db, source.range, source.which)
  const amount = source.kind === 'claim' ? sql.ref<number>('e.claimed_minor') : sql.ref<number>('e.eligible_minor')
  return rows
    .select(['e.id', 'e.cursor_at', 'e.first_name', 'e.last_name', 'e.house', 'e.postcode', 'e.donation_date', amount.as('amount_minor')])
    .$if(after !== null, (query) => query.where(sql<boolean>`(e.confirmed_at, e.id) > (${after!.at}::timestamptz, ${after!.id}::uuid)`))
    .orderBy('e.confirmed_at')
    .orderBy('e.id')
    .limit(limit)
    .execute()
}

export type ScheduleSource =
  | { kind: 'range'; range: GiftAidRange; which: 'all' | 'unclaimed' }
  | { kind: 'claim'; claimId: string; range: GiftAidRange }

/**
 * HMRC's schedule, streamed like the donations export. One row per gift, with the donor's details
 * (so no aggregated rows, and Title, Aggregated donations and Sponsored event, which do not apply,
 * are left blank as HMRC asks: never a 0 or "n/a").
 */
export function giftAidCsvStream(db: Db, source: ScheduleSource, pageSize = EXPORT_PAGE_SIZE) {
  return pagedCsvStream<ScheduleRow>({
    header: GIFT_AID_CSV_HEADER,
    pageSize,
    nextPage: (last) => schedulePage(db, source, last ? { at: last.cursor_at, id: last.id } : null, pageSize),
    toCells: (row): CsvCell[] => ['', row.first_name, row.last_name, row.house, row.postcode, '', '', row.donation_date, minorToDecimal(row.amount_minor, 'GBP')],
    onError: (error) => getLogger().error({ err: error }, 'Gift Aid export failed part-way'),
  })
}

/** What the dashboard and the Gift Aid page show for a range: its figures, and the adjustment due with the next claim. */
export async function getGiftAidOverview(db: Db, range: GiftAidRange) {
  const [summary, adjustment] = await Promise.all([getGiftAidSummary(db, range), getPendingAdjustment(db)])
  return { summary, adjustment }
}
