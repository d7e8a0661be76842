import { sql } from 'kysely'
import { z } from 'zod'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { giftAidBonusMinor, overClaimedTaxMinor } from '#app/modules/donations/gift-aid.ts'
import { eligibleGifts, giftAidRangeSchema, giftSetFingerprint, overClaimedGifts, overClaimedMinor, type GiftAidRange } from '#app/modules/donations/gift-aid.server.ts'

/**
 * Claim batches (ADR 017): staff mark the schedule they sent HMRC as claimed. The batch holds
 * exactly the unclaimed eligible gifts the page showed them, each at the amount claimed, and
 * every over-claim not yet adjusted, which the same Charities Online claim carries in its
 * Adjustment box. A gift is never in two batches: the table's primary key is the donation.
 */

export const markClaimedSchema = z.intersection(
  giftAidRangeSchema,
  z.object({
    fingerprint: z.string().regex(/^[0-9a-f]{32}$/, 'Load the Gift Aid page again and mark the schedule it shows'),
    overClaimedMinor: z.coerce.number({ message: 'Load the Gift Aid page again and mark the schedule it shows' }).int().min(0).max(Number.MAX_SAFE_INTEGER),
    confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm that this schedule was sent to HMRC in a claim' }) }),
  }),
)

/** The dates, and what the page showed: the set of gifts (its fingerprint) and the adjustment. */
export type MarkClaimedInput = { from: string; to: string; fingerprint: string; overClaimedMinor: number }

export type MarkClaimedResult =
  | { outcome: 'claimed'; claimId: string; giftCount: number; donationsMinor: number; overClaimedMinor: number }
  | { outcome: 'changed' }
  | { outcome: 'nothing-to-claim' }

class Refused extends Error {
  constructor(readonly outcome: 'changed' | 'nothing-to-claim') {
    super(outcome)
  }
}

/**
 * Records a claim batch, or nothing. Two staff members marking at once take turns (a transaction
 * lock), so the second finds the gifts claimed and is told the schedule changed; the primary key
 * on the claimed donation refuses a gift in two batches even without the lock.
 */
export async function markGiftAidClaimed(db: Database, staffUserId: string, input: MarkClaimedInput): Promise<MarkClaimedResult> {
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended('gift_aid_claims', 0))`.execute(trx)
      const claim = await trx
        .insertInto('gift_aid_claims')
        .values({ gifts_from: input.from, gifts_to: input.to, staff_user_id: staffUserId })
        .returning('id')
        .executeTakeFirstOrThrow()
      // Read and written in one statement, after the lock: what is claimed is what the query sees.
      await trx
        .insertInto('gift_aid_claim_gifts')
        .columns(['donation_id', 'claim_id', 'amount_minor'])
        .expression(eligibleGifts(trx, input, 'unclaimed').select(['e.id', sql<string>`${claim.id}::uuid`.as('claim_id'), 'e.eligible_minor']))
        .execute()
      const claimed = await claimedTotals(trx, claim.id)
      if (claimed.giftCount === 0) throw new Refused('nothing-to-claim')
      if (claimed.fingerprint !== input.fingerprint) throw new Refused('changed')

      await trx
        .insertInto('gift_aid_claim_adjustments')
        .columns(['claim_id', 'donation_id', 'amount_minor'])
        .expression(overClaimedGifts(trx).select([sql<string>`${claim.id}::uuid`.as('claim_id'), 'o.donation_id', overClaimedMinor.as('amount_minor')]))
        .execute()
      const adjusted = await trx
        .selectFrom('gift_aid_claim_adjustments')
        .select(sql<number>`coalesce(sum(amount_minor), 0)::bigint`.as('total'))
        .where('claim_id', '=', claim.id)
        .executeTakeFirstOrThrow()
      // A claimed gift refunded since the page was loaded changes the Adjustment box staff filled in.
      if (adjusted.total !== input.overClaimedMinor) throw new Refused('changed')

      const result = { outcome: 'claimed' as const, claimId: claim.id, giftCount: claimed.giftCount, donationsMinor: claimed.donationsMinor, overClaimedMinor: adjusted.total }
      await recordAudit(trx, {
        staffUserId,
        action: 'gift_aid.claim',
        subjectType: 'gift_aid_claim',
        subjectId: claim.id,
        details: { from: input.from, to: input.to, gifts: result.giftCount, donationsMinor: result.donationsMinor, overClaimedMinor: result.overClaimedMinor },
      })
      return result
    })
  } catch (error) {
    if (error instanceof Refused) return { outcome: error.outcome }
    if (isUniqueViolation(error, 'gift_aid_claim_gifts_pkey')) return { outcome: 'changed' }
    throw error
  }
}

async function claimedTotals(trx: DatabaseTransaction, claimId: string) {
  const row = await trx
    .selectFrom('gift_aid_claim_gifts')
    .select([
      sql<number>`count(*)`.as('gifts'),
      sql<number>`coalesce(sum(amount_minor), 0)::bigint`.as('total'),
      giftSetFingerprint(sql`donation_id`, sql`amount_minor`).as('fingerprint'),
    ])
    .where('claim_id', '=', claimId)
    .executeTakeFirstOrThrow()
  return { giftCount: Number(row.gifts), donationsMinor: row.total, fingerprint: row.fingerprint }
}

export type GiftAidClaim = {
  id: string
  claimedAt: Date
  range: GiftAidRange
  staffName: string | null
  giftCount: number
  donationsMinor: number
  giftAidMinor: number
  overClaimedMinor: number
  adjustmentTaxMinor: number
}

/** Every claim batch, newest first, with its totals as claimed. */
export async function listGiftAidClaims(db: Database | DatabaseTransaction): Promise<GiftAidClaim[]> {
  const rows = await db
    .selectFrom('gift_aid_claims as k')
    .leftJoin('staff_users as s', 's.id', 'k.staff_user_id')
    .select([
      'k.id',
      'k.claimed_at',
      sql<string>`to_char(k.gifts_from, 'YYYY-MM-DD')`.as('gifts_from'),
      sql<string>`to_char(k.gifts_to, 'YYYY-MM-DD')`.as('gifts_to'),
      's.name as staff_name',
      sql<number>`(select count(*) from gift_aid_claim_gifts c where c.claim_id = k.id)`.as('gifts'),
      sql<number>`(select coalesce(sum(c.amount_minor), 0) from gift_aid_claim_gifts c where c.claim_id = k.id)::bigint`.as('donations_minor'),
      sql<number>`(select coalesce(sum(a.amount_minor), 0) from gift_aid_claim_adjustments a where a.claim_id = k.id)::bigint`.as('over_claimed_minor'),
    ])
    .orderBy('k.claimed_at', 'desc')
    .orderBy('k.id')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    claimedAt: row.claimed_at,
    range: { from: row.gifts_from, to: row.gifts_to },
    staffName: row.staff_name,
    giftCount: Number(row.gifts),
    donationsMinor: row.donations_minor,
    giftAidMinor: giftAidBonusMinor(row.donations_minor),
    overClaimedMinor: row.over_claimed_minor,
    adjustmentTaxMinor: overClaimedTaxMinor(row.over_claimed_minor),
  }))
}

/** One claim's dates, to download its schedule again; null when there is no such claim. */
export async function getGiftAidClaimRange(db: Database, claimId: string): Promise<GiftAidRange | null> {
  const row = await db
    .selectFrom('gift_aid_claims')
    .select([sql<string>`to_char(gifts_from, 'YYYY-MM-DD')`.as('from'), sql<string>`to_char(gifts_to, 'YYYY-MM-DD')`.as('to')])
    .where('id', '=', claimId)
    .executeTakeFirst()
  return row ?? null
}
