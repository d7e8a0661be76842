import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Database } from '#app/utils/db.server.ts'
import { checkPhoto, UPLOAD_NAME } from '#app/modules/appeals/photos/upload.server.ts'
import { storePhoto } from '#app/modules/appeals/photos/storage.server.ts'

/**
 * The one-off move of photos from the folder they used to be written to (UPLOADS_DIR) into the
 * appeal_photos table (docs/decisions/015). Not a migration: the files are on whichever machine
 * had the folder, not necessarily the one that migrates. Run again, it finds nothing left to do.
 */

const UPLOADS_PREFIX = '/uploads/'

export type ImportReport = {
  imported: string[]
  /** Appeals point at these, but the folder has no such file. */
  missing: string[]
  /** Files that are not a photo we can store (with the reason), left where they are. */
  refused: { name: string; reason: string }[]
}

/**
 * Each file an appeal still points at under /uploads/ goes through the same check as a new
 * upload (re-encoded without metadata, upright, scaled), then is written and its appeals pointed
 * at the new address in one transaction; the file is deleted once that has committed. The old
 * name is kept on the row so that links shared before (share previews, emails) still answer.
 */
export async function importUploads(db: Database, folder: string): Promise<ImportReport> {
  const report: ImportReport = { imported: [], missing: [], refused: [] }
  const rows = await db
    .selectFrom('appeals')
    .select('photo_path')
    .distinct()
    .where('photo_path', 'like', `${UPLOADS_PREFIX}%`)
    .where('photo_id', 'is', null)
    .orderBy('photo_path')
    .execute()
  for (const { photo_path: photoPath } of rows) {
    const name = photoPath!.slice(UPLOADS_PREFIX.length)
    // Only names we made: anything else could point outside the folder.
    if (!UPLOAD_NAME.test(name)) {
      report.refused.push({ name, reason: 'not a name Sanad gave an upload' })
      continue
    }
    const file = path.join(folder, name)
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error
      report.missing.push(name)
      continue
    }
    const { photo, error } = await checkPhoto({ kind: 'file', bytes })
    if (!photo) {
      report.refused.push({ name, reason: error ?? 'not a photo' })
      continue
    }
    const moved = await db.transaction().execute(async (trx) => {
      // Locked, so a second run at the same moment waits and then finds the work done.
      const appeals = await trx.selectFrom('appeals').select('id').where('photo_path', '=', photoPath).where('photo_id', 'is', null).forUpdate().execute()
      if (appeals.length === 0) return false
      const stored = await storePhoto(trx, photo, { legacyName: name })
      await trx
        .updateTable('appeals')
        .set({ photo_id: stored.id, photo_path: stored.path })
        .where('id', 'in', appeals.map((appeal) => appeal.id))
        .execute()
      return true
    })
    if (!moved) continue
    await rm(file, { force: true })
    report.imported.push(name)
  }
  return report
}
