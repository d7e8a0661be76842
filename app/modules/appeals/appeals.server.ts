import type { Database } from '#app/utils/db.server.ts'

export type AppealSummary = Awaited<ReturnType<typeof listPublicAppeals>>[number]

/** Appeals the public can see: published and not yet closed, featured first, newest first. */
export async function listPublicAppeals(db: Database, options: { featuredOnly?: boolean; limit?: number } = {}) {
  let query = db
    .selectFrom('appeals as a')
    .innerJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .select([
      'a.id',
      'a.slug',
      'a.title',
      'a.summary',
      'a.beneficiary_name',
      'a.photo_path',
      'a.photo_alt',
      'a.currency',
      'a.goal_minor',
      'a.closes_at',
      // Net, not gross: a refunded or disputed gift is not money raised.
      't.net_minor as raised_minor',
      't.donor_count',
    ])
    .where('a.status', '=', 'published')
    .where((eb) => eb.or([eb('a.closes_at', 'is', null), eb('a.closes_at', '>', new Date())]))
    .orderBy('a.featured', 'desc')
    .orderBy('a.published_at', 'desc')
  if (options.featuredOnly) query = query.where('a.featured', '=', true)
  if (options.limit) query = query.limit(options.limit)
  return query.execute()
}
