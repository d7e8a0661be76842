import { sql } from 'kysely'
import type { Database } from '#app/utils/db.server.ts'

/**
 * What the thank-you page may show: the gift's state from our database, found by the Checkout
 * Session id Stripe put in the return URL. Nothing about the donor beyond what they typed, and
 * never an amount from the query string.
 */
export async function getGiftBySession(db: Database, sessionId: string) {
  if (!/^cs_[A-Za-z0-9_-]{1,200}$/.test(sessionId)) return undefined
  return db
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .select([
      'd.id',
      'd.status',
      'd.frequency',
      'd.amount_minor',
      'd.fee_cover_minor',
      'd.currency',
      'd.appeal_id',
      'd.supporter_id',
      'd.checkout_submission_id',
      'a.title',
      'a.slug',
    ])
    .where('d.stripe_checkout_session_id', '=', sessionId)
    .executeTakeFirst()
}

type Gift = NonNullable<Awaited<ReturnType<typeof getGiftBySession>>>

/**
 * The appeal's progress now that this gift is in it, and which supporter of the appeal the giver
 * is: counted by the first gift each supporter made to it, so a second gift keeps the number the
 * first one earned and the number is never more than the supporters the appeal page shows.
 */
export async function getAppliedGiftProgress(db: Database, gift: Pick<Gift, 'appeal_id' | 'supporter_id'>) {
  const [totals, rank] = await Promise.all([
    db
      .selectFrom('appeals as a')
      .leftJoin('appeal_totals as t', 't.appeal_id', 'a.id')
      .select(['a.goal_minor', 'a.currency', 't.net_minor', 't.donor_count'])
      .where('a.id', '=', gift.appeal_id)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('appeal_donors as ad')
      .innerJoin('donations as first', 'first.id', 'ad.first_donation_id')
      .select((eb) => eb.fn.countAll<number>().as('number'))
      .where('ad.appeal_id', '=', gift.appeal_id)
      .where(
        sql<boolean>`(first.confirmed_at, first.id) <= (
          select mine.confirmed_at, mine.id from appeal_donors me join donations mine on mine.id = me.first_donation_id
          where me.appeal_id = ${gift.appeal_id} and me.supporter_id = ${gift.supporter_id})`,
      )
      .executeTakeFirstOrThrow(),
  ])
  const supporterNumber = Number(rank.number)
  return {
    raisedMinor: totals.net_minor ?? 0,
    goalMinor: totals.goal_minor,
    currency: totals.currency,
    supporterCount: totals.donor_count ?? 0,
    // Zero when the supporter is not (or no longer) counted among the appeal's donors.
    supporterNumber: supporterNumber > 0 ? supporterNumber : null,
  }
}

/**
 * Where the receipt went, for the browser that made the gift and no one else: the Checkout
 * Session id in the address may have been passed on (a shared link, a screenshot, history on a
 * shared computer), but only the giver's browser holds the signed checkout cookie naming the gift.
 */
export async function getReceiptAddress(db: Database, gift: Pick<Gift, 'id' | 'checkout_submission_id'>, cookieSubmissionId: string | null) {
  if (!cookieSubmissionId || gift.checkout_submission_id !== cookieSubmissionId) return null
  const row = await db.selectFrom('donations').select('donor_email').where('id', '=', gift.id).executeTakeFirst()
  return row?.donor_email ?? null
}

/** Other open appeals to suggest after a gift: a few, the nearest to closing first. */
export async function listOtherOpenAppeals(db: Database, appealId: string, now = new Date(), limit = 2) {
  return db
    .selectFrom('appeals')
    .select(['slug', 'title'])
    .where('status', '=', 'published')
    .where('id', '!=', appealId)
    .where((eb) => eb.or([eb('closes_at', 'is', null), eb('closes_at', '>', now)]))
    .orderBy(sql`closes_at asc nulls last`)
    .orderBy('title')
    .limit(limit)
    .execute()
}
