import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { type SaveOutcome } from '#app/modules/appeals/appeal-admin.server.ts'
import { type PhotoUpload, type ImageType, UPLOAD_NAME, IMAGE_TYPES } from '#app/modules/appeals/photos/upload.server.ts'

/** Where appeal photos are kept and how the site serves them back. */

function uploadsDir() {
  return path.resolve(getEnv().UPLOADS_DIR)
}

const UPLOADS_PREFIX = '/uploads/'

/** Writes the photo under a random name and returns the path the site serves it at. */
async function storePhoto(photo: PhotoUpload): Promise<string> {
  const name = `${randomBytes(16).toString('hex')}.${photo.type.extension}`
  await mkdir(uploadsDir(), { recursive: true })
  const file = path.join(uploadsDir(), name)
  try {
    await writeFile(file, photo.bytes, { flag: 'wx' })
  } catch (error) {
    // A disk that filled up part-way leaves half a file no row will ever refer to (but a name
    // that already existed is another photo's).
    if ((error as { code?: string }).code !== 'EEXIST') await rm(file, { force: true }).catch(() => undefined)
    throw error
  }
  return `${UPLOADS_PREFIX}${name}`
}

/**
 * Deletes an uploaded file no appeal refers to any more. Only names we made are touched (the
 * demo appeals point at files in public/). A failure is logged, not thrown: the change it
 * follows is already committed, and an unreferenced file is not served anyway.
 */
async function deleteUpload(db: Database | null, photoPath: string | null) {
  if (!photoPath?.startsWith(UPLOADS_PREFIX)) return
  const name = photoPath.slice(UPLOADS_PREFIX.length)
  if (!UPLOAD_NAME.test(name)) return
  try {
    // Without a database to ask, the caller knows no committed row refers to the file.
    const stillUsed = db && (await db.selectFrom('appeals').select('id').where('photo_path', '=', photoPath).limit(1).executeTakeFirst())
    if (!stillUsed) await rm(path.join(uploadsDir(), name), { force: true })
  } catch (error) {
    getLogger().error({ err: error, file: name }, 'An appeal photo no longer used could not be deleted')
  }
}

/**
 * The photo a save may write inside its transaction (so a failed write rolls the row back),
 * settled once the transaction is over: after a commit, the photo the appeal no longer uses is
 * deleted; when the save is refused or throws, the new file is deleted, as no row refers to it.
 */
export function pendingPhoto(db: Database, photo: PhotoUpload | null) {
  let stored: string | null = null
  return {
    async store() {
      if (photo) stored = await storePhoto(photo)
      return stored
    },
    async settle(outcome: SaveOutcome | null, replaced: string | null = null) {
      if (outcome?.outcome !== 'saved') await deleteUpload(null, stored)
      else if (replaced !== stored) await deleteUpload(db, replaced)
    },
  }
}

/**
 * An uploaded file by its served name, or null for any name we would not have made and for a
 * file no appeal refers to (a photo replaced or removed, or one whose save failed).
 */
export async function readUpload(db: Database, name: string): Promise<{ bytes: Buffer; contentType: string } | null> {
  const match = UPLOAD_NAME.exec(name)
  if (!match) return null
  const used = await db.selectFrom('appeals').select('id').where('photo_path', '=', `${UPLOADS_PREFIX}${name}`).limit(1).executeTakeFirst()
  if (!used) return null
  try {
    const bytes = await readFile(path.join(uploadsDir(), name))
    return { bytes, contentType: IMAGE_TYPES[match[1] as ImageType['extension']].contentType }
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null
    throw error
  }
}
