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
    .select(['d.status', 'd.frequency', 'd.amount_minor', 'd.fee_cover_minor', 'd.currency', 'a.title', 'a.slug'])
    .where('d.stripe_checkout_session_id', '=', sessionId)
    .executeTakeFirst()
}
