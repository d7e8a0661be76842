import { isGiftAidAvailable } from '#app/modules/donations/gift-aid.ts'
import type { Database } from '#app/utils/db.server.ts'
import { daysLeft } from '#app/utils/dates.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'

export type AppealState = 'open' | 'goal-reached' | 'closed'

/**
 * A supporter as the public may see them: only what the donor chose to show. The donor's email,
 * and anything they kept private, never leaves this module.
 */
export type PublicSupporter = {
  name: string
  amountMinor: number | null
  message: string | null
}

export type AppealPage = NonNullable<Awaited<ReturnType<typeof getAppealPage>>>

const RECENT_SUPPORTERS = 10

/**
 * Everything the public page of one appeal shows. Drafts are not public and come back as null;
 * a closed appeal stays readable so links shared earlier still lead somewhere.
 */
export async function getAppealPage(db: Database, slug: string, now = new Date(), options: { origin?: string } = {}) {
  const appeal = await db
    .selectFrom('appeals as a')
    .leftJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .select([
      'a.id',
      'a.slug',
      'a.title',
      'a.summary',
      'a.beneficiary_name',
      'a.beneficiary_is_pseudonym',
      'a.story_markdown',
      'a.photo_path',
      'a.photo_alt',
      'a.currency',
      'a.goal_minor',
      'a.suggested_amounts_minor',
      'a.status',
      'a.closes_at',
      't.net_minor',
      't.donor_count',
    ])
    .where('a.slug', '=', slug)
    .where('a.status', 'in', ['published', 'closed'])
    .executeTakeFirst()
  if (!appeal) return null

  const [supporterRows, updateRows, organisation] = await Promise.all([
    db
      .selectFrom('donations')
      // Only the columns the donor may have chosen to show; the email is never selected.
      .select(['donor_name', 'show_name', 'amount_minor', 'show_amount', 'message', 'show_message'])
      .where('appeal_id', '=', appeal.id)
      .where('status', '=', 'confirmed')
      // A gift refunded in full is no longer a gift to show.
      .where((eb) => eb('refunded_minor', '<', eb('amount_minor', '+', eb.ref('fee_cover_minor'))))
      .orderBy('confirmed_at', 'desc')
      .orderBy('id', 'desc')
      .limit(RECENT_SUPPORTERS)
      .execute(),
    db
      .selectFrom('appeal_updates')
      .select(['id', 'title', 'body_markdown', 'published_at'])
      .where('appeal_id', '=', appeal.id)
      .where('published_at', '<=', now)
      .orderBy('published_at', 'desc')
      .execute(),
    db.selectFrom('organisation').select(['name', 'gift_aid_enabled']).where('id', '=', 1).executeTakeFirst(),
  ])

  // Net, not gross: a refunded or disputed gift is not money raised (staff see gross beside it).
  const raisedMinor = appeal.net_minor ?? 0
  const closed = appeal.status === 'closed' || (appeal.closes_at !== null && appeal.closes_at <= now)
  const state: AppealState = closed ? 'closed' : raisedMinor >= appeal.goal_minor ? 'goal-reached' : 'open'

  const supporters: PublicSupporter[] = supporterRows.map((row) => ({
    name: row.show_name && row.donor_name?.trim() ? row.donor_name.trim() : 'Anonymous',
    amountMinor: row.show_amount ? row.amount_minor : null,
    message: row.show_message && row.message?.trim() ? row.message.trim() : null,
  }))

  const markdownOptions = { origin: options.origin }
  return {
    appeal: {
      id: appeal.id,
      slug: appeal.slug,
      title: appeal.title,
      summary: appeal.summary,
      beneficiaryName: appeal.beneficiary_name,
      beneficiaryIsPseudonym: appeal.beneficiary_is_pseudonym,
      storyHtml: renderMarkdown(appeal.story_markdown, markdownOptions),
      photoPath: appeal.photo_path,
      photoAlt: appeal.photo_alt,
      currency: appeal.currency,
      goalMinor: appeal.goal_minor,
      // bigint[] comes back from pg as strings: only single int8 values are parsed as numbers.
      suggestedAmountsMinor: appeal.suggested_amounts_minor,
      closesAt: appeal.closes_at,
    },
    totals: { raisedMinor, donorCount: appeal.donor_count ?? 0 },
    state,
    daysLeft: !closed && appeal.closes_at ? daysLeft(appeal.closes_at, now) : null,
    supporters,
    updates: updateRows.map((update) => ({
      id: update.id,
      title: update.title,
      bodyHtml: renderMarkdown(update.body_markdown, markdownOptions),
      publishedAt: update.published_at,
    })),
    organisationName: organisation?.name ?? 'the charity',
    giftAidAvailable: isGiftAidAvailable({
      giftAidEnabled: organisation?.gift_aid_enabled ?? false,
      currency: appeal.currency,
    }),
  }
}
