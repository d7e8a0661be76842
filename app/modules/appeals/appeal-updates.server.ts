import { sql } from 'kysely'
import MarkdownIt from 'markdown-it'
import { z } from 'zod'
import { enqueueEmails } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { stopAppealUpdatesUrl } from '#app/utils/signed-links.server.ts'
import { requiredText } from '#app/utils/text-input.ts'
import { isUuid } from '#app/utils/ids.ts'
import { limited, unixLineBreaks, checkbox } from '#app/modules/appeals/appeal-form.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'

/**
 * Appeal updates: staff post news on an appeal, which may be emailed to supporters who asked for
 * it; each email carries a signed "stop these updates" link.
 */

export const EMAIL_APPEAL_UPDATE_TASK = 'email_appeal_update'
/** Supporters enqueued per transaction: small enough to keep locks short, large enough to be quick. */
const EMAIL_BATCH = 200

export const updateFormSchema = z.object({
  title: requiredText('Enter a title for the update').pipe(limited(200, 'The title')),
  bodyMarkdown: requiredText('Write the update').pipe(limited(20_000, 'The update')).transform(unixLineBreaks),
  email: checkbox(),
})
export type UpdateInput = z.output<typeof updateFormSchema>

export async function listAppealUpdates(db: Database, appealId: string) {
  return db
    .selectFrom('appeal_updates')
    .select(['id', 'title', 'published_at', 'emailed_at'])
    .where('appeal_id', '=', appealId)
    .orderBy('published_at', 'desc')
    .execute()
}

/**
 * Posts an update. Emailing it is a job added in the same transaction: the list of supporters
 * may be long, and the job can run again after a failure without sending anyone a second copy.
 */
export async function postAppealUpdate(
  db: Database,
  appealId: string,
  input: UpdateInput,
  options: { staffUserId: string | null },
): Promise<{ outcome: 'posted'; updateId: string } | { outcome: 'not-found' }> {
  if (!isUuid(appealId)) return { outcome: 'not-found' }
  return db.transaction().execute(async (trx) => {
    const appeal = await trx.selectFrom('appeals').select('id').where('id', '=', appealId).executeTakeFirst()
    if (!appeal) return { outcome: 'not-found' as const }
    const { id } = await trx
      .insertInto('appeal_updates')
      .values({ appeal_id: appealId, title: input.title, body_markdown: input.bodyMarkdown, author_staff_user_id: options.staffUserId })
      .returning('id')
      .executeTakeFirstOrThrow()
    if (input.email) await addJob(trx, EMAIL_APPEAL_UPDATE_TASK, { updateId: id }, { jobKey: `${EMAIL_APPEAL_UPDATE_TASK}:${id}` })
    await recordAudit(trx, { staffUserId: options.staffUserId, action: 'appeal.update.post', subjectType: 'appeal', subjectId: appealId, details: { updateId: id, email: input.email } })
    return { outcome: 'posted' as const, updateId: id }
  })
}

/** The form to correct a posted update: its words only (an email already sent cannot be changed). */
export const editUpdateFormSchema = updateFormSchema.pick({ title: true, bodyMarkdown: true })
export type EditUpdateInput = z.output<typeof editUpdateFormSchema>

export async function getAppealUpdate(db: Database, appealId: string, updateId: string) {
  if (!isUuid(appealId) || !isUuid(updateId)) return undefined
  return db
    .selectFrom('appeal_updates')
    .select(['id', 'title', 'body_markdown', 'published_at', 'emailed_at'])
    .where('appeal_id', '=', appealId)
    .where('id', '=', updateId)
    .executeTakeFirst()
}

/**
 * Corrects a posted update's title and words on the appeal page. Emails already sent keep what
 * they said; the audit log keeps who changed it and when.
 */
export async function editAppealUpdate(
  db: Database,
  appealId: string,
  updateId: string,
  input: EditUpdateInput,
  options: { staffUserId: string | null },
): Promise<{ outcome: 'edited' } | { outcome: 'not-found' }> {
  if (!isUuid(appealId) || !isUuid(updateId)) return { outcome: 'not-found' }
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('appeal_updates')
      .set({ title: input.title, body_markdown: input.bodyMarkdown })
      .where('appeal_id', '=', appealId)
      .where('id', '=', updateId)
      .returning('id')
      .executeTakeFirst()
    if (!updated) return { outcome: 'not-found' as const }
    await recordAudit(trx, { staffUserId: options.staffUserId, action: 'appeal.update.edit', subjectType: 'appeal', subjectId: appealId, details: { updateId } })
    return { outcome: 'edited' as const }
  })
}

/**
 * The job: one email per supporter who asked for news on any confirmed gift to this appeal,
 * unless their address is suppressed (bounced, complained) or they were erased. Supporters are
 * one per email address (a unique index on lower(email)), so this is one email per address.
 * The idempotency key makes a second run, or a retry after a crash, add nothing.
 */
export async function emailAppealUpdate(db: Database, updateId: string): Promise<{ enqueued: number }> {
  if (!isUuid(updateId)) return { enqueued: 0 }
  const update = await db
    .selectFrom('appeal_updates as u')
    .innerJoin('appeals as a', 'a.id', 'u.appeal_id')
    .select(['u.id', 'u.title', 'u.body_markdown', 'a.id as appeal_id', 'a.title as appeal_title', 'a.slug'])
    .where('u.id', '=', updateId)
    .executeTakeFirst()
  if (!update) return { enqueued: 0 }
  const organisation = await getEmailOrganisation(db)
  const common = {
    organisation,
    appealTitle: update.appeal_title,
    updateTitle: update.title,
    updateBody: markdownToPlainText(update.body_markdown) || 'There is news on the appeal page.',
    appealUrl: `${appUrl()}/appeals/${update.slug}`,
  }

  let enqueued = 0
  let after: string | null = null
  for (;;) {
    let query = db
      .selectFrom('supporters as s')
      .select(['s.id', 's.email', 's.name'])
      .where('s.email', 'is not', null)
      .where('s.erased_at', 'is', null)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('donations as d')
            .select('d.id')
            .whereRef('d.supporter_id', '=', 's.id')
            .where('d.appeal_id', '=', update.appeal_id)
            .where('d.status', '=', 'confirmed')
            .where('d.updates_opt_in', '=', true),
        ),
      )
      // The outbox would mark these suppressed anyway; leaving them out keeps the outbox honest.
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('email_suppressions as x').select('x.email').where(sql<boolean>`x.email = lower(s.email)`))),
      )
      .orderBy('s.id')
      .limit(EMAIL_BATCH)
    if (after) query = query.where('s.id', '>', after)
    const batch = await query.execute()
    if (batch.length === 0) break
    const results = await db.transaction().execute((trx) =>
      enqueueEmails(
        trx,
        batch.map((supporter) => ({
          template: 'appeal-update' as const,
          to: supporter.email!,
          props: { ...common, name: supporter.name, unsubscribeUrl: stopAppealUpdatesUrl(update.appeal_id, supporter.id) },
          idempotencyKey: `appeal-update:${update.id}:${supporter.id}`,
        })),
      ),
    )
    enqueued += results.filter((result) => result.created).length
    after = batch[batch.length - 1]!.id
    if (batch.length < EMAIL_BATCH) break
  }
  await db.updateTable('appeal_updates').set({ emailed_at: new Date() }).where('id', '=', update.id).where('emailed_at', 'is', null).execute()
  return { enqueued }
}

/** The "stop these updates" link: no more news of this appeal for this supporter. */
export async function stopAppealUpdates(db: Database, appealId: string, supporterId: string): Promise<{ appealTitle: string } | null> {
  if (!isUuid(appealId) || !isUuid(supporterId)) return null
  const appeal = await db.selectFrom('appeals').select('title').where('id', '=', appealId).executeTakeFirst()
  if (!appeal) return null
  await db
    .updateTable('donations')
    .set({ updates_opt_in: false, updated_at: new Date() })
    .where('appeal_id', '=', appealId)
    .where('supporter_id', '=', supporterId)
    .where('updates_opt_in', '=', true)
    .execute()
  return { appealTitle: appeal.title }
}

export async function getAppealTitle(db: Database, appealId: string) {
  if (!isUuid(appealId)) return null
  return (await db.selectFrom('appeals').select('title').where('id', '=', appealId).executeTakeFirst())?.title ?? null
}

// ── Markdown to plain text (emails carry text, never HTML from staff) ───────────────────────────

const markdown = new MarkdownIt({ html: false, linkify: false })

/** Paragraphs separated by blank lines, list items one a line ("- …" or "1. …"), links as "text (address)". */
export function markdownToPlainText(source: string): string {
  const blocks: string[] = []
  // One entry per open list: its next number, or null for a bulleted list.
  const lists: (number | null)[] = []
  let listLines: string[] = []
  let itemPrefix: string | null = null
  for (const token of markdown.parse(source, {})) {
    if (token.type === 'bullet_list_open' || token.type === 'ordered_list_open') {
      lists.push(token.type === 'ordered_list_open' ? Number(token.attrGet('start') ?? 1) : null)
    } else if (token.type === 'bullet_list_close' || token.type === 'ordered_list_close') {
      lists.pop()
      if (lists.length === 0) {
        blocks.push(listLines.join('\n'))
        listLines = []
      }
    } else if (token.type === 'list_item_open') {
      const number = lists.at(-1)
      const indent = '  '.repeat(Math.max(0, lists.length - 1))
      itemPrefix = `${indent}${typeof number === 'number' ? `${number}. ` : '- '}`
      if (typeof number === 'number') lists[lists.length - 1] = number + 1
    } else if (token.type === 'code_block' || token.type === 'fence') {
      blocks.push(token.content.trimEnd())
    } else if (token.type === 'inline') {
      const text = inlineText(token.children ?? []).trim()
      if (lists.length > 0) {
        listLines.push(`${itemPrefix ?? '  '.repeat(lists.length)}${text}`)
        itemPrefix = null
      } else {
        blocks.push(text)
      }
    }
  }
  return blocks.filter((block) => block.trim() !== '').join('\n\n').trim()
}

function inlineText(children: ReturnType<typeof markdown.parseInline>[number]['children'] & object): string {
  let text = ''
  let href: string | null = null
  let linkText = ''
  for (const child of children) {
    if (child.type === 'link_open') {
      const target = child.attrGet('href')
      href = target === null ? null : String(target)
      linkText = ''
      continue
    }
    if (child.type === 'link_close') {
      if (href && href !== linkText) text += ` (${href})`
      href = null
      continue
    }
    let piece = ''
    if (child.type === 'text' || child.type === 'code_inline') piece = child.content
    else if (child.type === 'softbreak' || child.type === 'hardbreak') piece = '\n'
    else if (child.type === 'image') piece = child.content ? `[Image: ${child.content}]` : ''
    if (href !== null) linkText += piece
    text += piece
  }
  return text
}
