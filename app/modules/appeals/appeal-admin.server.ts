import type { AppealStatus } from '#db/schema.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { type AppealInput } from '#app/modules/appeals/appeal-form.server.ts'
import { type PhotoUpload } from '#app/modules/appeals/photos/upload.server.ts'
import { deletePhotoIfUnused, storePhoto } from '#app/modules/appeals/photos/storage.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import { isUuid } from '#app/utils/ids.ts'

/**
 * Staff run appeals here: list them, create and edit them (with their photo), publish, close and
 * reopen them. Every change writes an audit entry in its own transaction.
 */

// ── Reading appeals ─────────────────────────────────────────────────────────────────────────────

/** Every appeal, drafts and closed ones included, newest first, with what it has raised. */
export async function listStaffAppeals(db: Database) {
  return db
    .selectFrom('appeals as a')
    .leftJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .select(['a.id', 'a.slug', 'a.title', 'a.status', 'a.currency', 'a.goal_minor', 'a.closes_at', 'a.published_at', 't.confirmed_gross_minor'])
    .orderBy('a.created_at', 'desc')
    .orderBy('a.id')
    .execute()
}

export async function getStaffAppeal(db: Database, id: string | undefined) {
  if (!isUuid(id)) return null
  const appeal = await db.selectFrom('appeals').selectAll().where('id', '=', id).executeTakeFirst()
  if (!appeal) return null
  const donation = await db.selectFrom('donations').select('id').where('appeal_id', '=', id).limit(1).executeTakeFirst()
  return { ...appeal, hasDonations: donation !== undefined }
}

// ── Saving appeals ──────────────────────────────────────────────────────────────────────────────

export type FieldErrors = Record<string, string[]>
export type SaveOutcome = { outcome: 'saved'; id: string } | { outcome: 'invalid'; fieldErrors: FieldErrors } | { outcome: 'not-found' }

const SLUG_TAKEN = 'Another appeal already uses this web address: choose a different one'
const ALT_NEEDED = 'Describe the photo for people who cannot see it'

async function slugTaken(trx: DatabaseTransaction, slug: string, exceptId: string | null) {
  let query = trx.selectFrom('appeals').select('id').where('slug', '=', slug)
  if (exceptId) query = query.where('id', '<>', exceptId)
  return (await query.executeTakeFirst()) !== undefined
}

function appealColumns(input: AppealInput) {
  return {
    slug: input.slug,
    title: input.title,
    summary: input.summary,
    beneficiary_name: input.beneficiaryName,
    beneficiary_is_pseudonym: input.beneficiaryIsPseudonym,
    story_markdown: input.storyMarkdown,
    currency: input.currency,
    goal_minor: input.goalMinor,
    suggested_amounts_minor: input.suggestedAmountsMinor,
    closes_at: input.closesAt,
  }
}

/** A new appeal, always a draft. Its photo is written in the same transaction, so it exists only if the row does. */
export async function createAppeal(
  db: Database,
  input: AppealInput,
  options: { staffUserId: string | null; photo: PhotoUpload | null },
): Promise<SaveOutcome> {
  if (options.photo && !input.photoAlt) return { outcome: 'invalid', fieldErrors: { photoAlt: [ALT_NEEDED] } }
  try {
    return await db.transaction().execute(async (trx): Promise<SaveOutcome> => {
      if (await slugTaken(trx, input.slug, null)) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
      const photo = options.photo ? await storePhoto(trx, options.photo) : null
      const { id } = await trx
        .insertInto('appeals')
        .values({ ...appealColumns(input), photo_id: photo?.id ?? null, photo_path: photo?.path ?? null, photo_alt: photo ? input.photoAlt : null, status: 'draft' })
        .returning('id')
        .executeTakeFirstOrThrow()
      await recordAudit(trx, { staffUserId: options.staffUserId, action: 'appeal.create', subjectType: 'appeal', subjectId: id, details: { slug: input.slug, currency: input.currency, goalMinor: input.goalMinor } })
      return { outcome: 'saved', id }
    })
  } catch (error) {
    // A second request taking the same slug between our check and our write still lands here.
    if (isUniqueViolation(error, 'slug')) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
    throw error
  }
}

/**
 * Saves the edit form. The currency is fixed once any donation exists (totals, receipts and the
 * ledger are in it). A replaced or removed photo is deleted in the same transaction: a photo
 * taken down (someone could be recognised in it) stops being served when the change commits.
 */
export async function updateAppeal(
  db: Database,
  appealId: string,
  input: AppealInput,
  options: { staffUserId: string | null; photo: PhotoUpload | null },
): Promise<SaveOutcome> {
  if (!isUuid(appealId)) return { outcome: 'not-found' }
  try {
    return await db.transaction().execute(async (trx): Promise<SaveOutcome> => {
      const current = await trx.selectFrom('appeals').selectAll().where('id', '=', appealId).forUpdate().executeTakeFirst()
      if (!current) return { outcome: 'not-found' }
      const fieldErrors: FieldErrors = {}
      if (await slugTaken(trx, input.slug, appealId)) fieldErrors.slug = [SLUG_TAKEN]
      if (input.currency !== current.currency.trim()) {
        const donation = await trx.selectFrom('donations').select('id').where('appeal_id', '=', appealId).limit(1).executeTakeFirst()
        if (donation) fieldErrors.currency = [`The currency cannot change: this appeal already has donations in ${current.currency.trim()}`]
      }
      const keepsPhoto = options.photo !== null || (current.photo_path !== null && !input.removePhoto)
      if (keepsPhoto && !input.photoAlt) fieldErrors.photoAlt = [ALT_NEEDED]
      if (Object.keys(fieldErrors).length > 0) return { outcome: 'invalid', fieldErrors }

      const stored = options.photo ? await storePhoto(trx, options.photo) : null
      const photo = stored ?? (keepsPhoto ? { id: current.photo_id, path: current.photo_path } : { id: null, path: null })
      const columns = { ...appealColumns(input), photo_path: photo.path, photo_alt: photo.path ? input.photoAlt : null }
      const changed = Object.entries(columns)
        .filter(([column, value]) => JSON.stringify(value) !== JSON.stringify(normalise(current[column as keyof typeof current])))
        .map(([column]) => column)
      await trx.updateTable('appeals').set({ ...columns, photo_id: photo.id, updated_at: new Date() }).where('id', '=', appealId).execute()
      if (current.photo_id !== photo.id) await deletePhotoIfUnused(trx, current.photo_id)
      await recordAudit(trx, { staffUserId: options.staffUserId, action: 'appeal.edit', subjectType: 'appeal', subjectId: appealId, details: { changed } })
      return { outcome: 'saved', id: appealId }
    })
  } catch (error) {
    // A second request taking the same slug between our check and our write still lands here.
    if (isUniqueViolation(error, 'slug')) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
    throw error
  }
}

function normalise(value: unknown) {
  // char(3) pads nothing for three-letter codes, but trim anyway so a comparison never lies.
  return typeof value === 'string' ? value.trim() : value
}

// ── Publishing, closing, reopening ──────────────────────────────────────────────────────────────

export type StatusChange = 'publish' | 'close' | 'reopen'
export type StatusOutcome = { outcome: 'done'; status: AppealStatus } | { outcome: 'refused'; message: string } | { outcome: 'not-found' }

/**
 * One conditional update per change, so two members of staff pressing buttons at once cannot
 * take an appeal through a change its current status does not allow.
 */
export async function changeAppealStatus(
  db: Database,
  appealId: string,
  change: StatusChange,
  options: { staffUserId: string | null; now?: Date },
): Promise<StatusOutcome> {
  if (!isUuid(appealId)) return { outcome: 'not-found' }
  const now = options.now ?? new Date()
  return db.transaction().execute(async (trx): Promise<StatusOutcome> => {
    const appeal = await trx.selectFrom('appeals').select(['id', 'status', 'closes_at']).where('id', '=', appealId).forUpdate().executeTakeFirst()
    if (!appeal) return { outcome: 'not-found' }
    const closingDatePassed = appeal.closes_at !== null && appeal.closes_at <= now
    let next: AppealStatus
    if (change === 'publish') {
      if (appeal.status !== 'draft') return { outcome: 'refused', message: 'Only a draft can be published.' }
      if (closingDatePassed) return { outcome: 'refused', message: 'The closing date has passed: change it before publishing.' }
      await trx.updateTable('appeals').set({ status: 'published', published_at: now, updated_at: now }).where('id', '=', appealId).execute()
      next = 'published'
    } else if (change === 'close') {
      if (appeal.status !== 'published') return { outcome: 'refused', message: 'Only an open appeal can be closed.' }
      await trx.updateTable('appeals').set({ status: 'closed', closed_at: now, updated_at: now }).where('id', '=', appealId).execute()
      next = 'closed'
    } else {
      if (appeal.status !== 'closed') return { outcome: 'refused', message: 'Only a closed appeal can be reopened.' }
      if (closingDatePassed) return { outcome: 'refused', message: 'The closing date has passed: change it to a later date to reopen the appeal.' }
      await trx.updateTable('appeals').set({ status: 'published', closed_at: null, updated_at: now }).where('id', '=', appealId).execute()
      next = 'published'
    }
    await recordAudit(trx, { staffUserId: options.staffUserId, action: `appeal.${change}`, subjectType: 'appeal', subjectId: appealId, details: { from: appeal.status, to: next } })
    return { outcome: 'done', status: next }
  })
}
