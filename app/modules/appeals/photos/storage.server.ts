import { createHash } from 'node:crypto'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { type PhotoUpload, type ImageType, UPLOAD_NAME, IMAGE_TYPES } from '#app/modules/appeals/photos/upload.server.ts'

/**
 * Where appeal photos are kept (the appeal_photos table, docs/decisions/015) and how the site
 * finds them again. Every write takes the transaction that saves the appeal: a save that fails
 * or is refused leaves no photo behind, and a photo replaced or removed is gone when the change
 * commits, not a moment later.
 */

export const PHOTOS_PREFIX = '/photos/'
/** `<id>.<sha256>.<ext>`: the hash makes the address change whenever the bytes do. */
const PHOTO_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{64})\.(jpg|png|webp)$/

export type StoredPhoto = { id: string; path: string }
/** What is needed to answer for a photo; its bytes are read only when they are sent (not for a 304). */
export type ServedPhoto = { id: string; contentType: string; sha256: string }

export function photoAddress(id: string, sha256: string, type: ImageType) {
  return `${PHOTOS_PREFIX}${id}.${sha256}.${type.extension}`
}

/** Writes the photo's bytes and returns its id and the address pages show it at. */
export async function storePhoto(trx: DatabaseTransaction, photo: PhotoUpload, options: { legacyName?: string } = {}): Promise<StoredPhoto> {
  const bytes = Buffer.from(photo.bytes.buffer, photo.bytes.byteOffset, photo.bytes.byteLength)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const { id } = await trx
    .insertInto('appeal_photos')
    .values({
      bytes,
      content_type: photo.type.contentType,
      byte_size: bytes.byteLength,
      sha256,
      width: photo.width,
      height: photo.height,
      legacy_name: options.legacyName ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { id, path: photoAddress(id, sha256, photo.type) }
}

/**
 * Deletes a photo nothing refers to any more, in the transaction that stopped referring to it.
 * A photo another appeal or an event still uses (one imported file shared by two) stays. Event
 * covers are kept here too, uploaded the same way (migration 0030, docs/decisions/027).
 */
export async function deletePhotoIfUnused(trx: DatabaseTransaction, photoId: string | null) {
  if (!photoId) return
  await trx
    .deleteFrom('appeal_photos')
    .where('id', '=', photoId)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('appeals').select('id').where('photo_id', '=', photoId))))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('events').select('id').where('cover_photo_id', '=', photoId))))
    .execute()
}

function servedPhoto(db: Database) {
  return db
    .selectFrom('appeal_photos as p')
    .select(['p.id', 'p.content_type as contentType', 'p.sha256'])
    // Only while an appeal or an event uses it: unreferenced rows are deleted, and this holds even
    // if one was not. A draft event's cover is served like a draft appeal's photo: staff preview it.
    .where(({ or, exists, selectFrom }) =>
      or([
        exists(selectFrom('appeals as a').select('a.id').whereRef('a.photo_id', '=', 'p.id')),
        exists(selectFrom('events as e').select('e.id').whereRef('e.cover_photo_id', '=', 'p.id')),
      ]),
    )
}

/**
 * A photo by its served name (`<id>.<sha256>.<ext>`), or null for a name we would not have made,
 * an old hash or type, and a photo no appeal uses (replaced, removed, or never saved).
 */
export async function readPhoto(db: Database, name: string): Promise<ServedPhoto | null> {
  const match = PHOTO_NAME.exec(name)
  if (!match) return null
  const [, id, sha256, extension] = match
  const row = await servedPhoto(db)
    .where('p.id', '=', id!)
    .where('p.sha256', '=', sha256!)
    .where('p.content_type', '=', IMAGE_TYPES[extension as ImageType['extension']].contentType)
    .executeTakeFirst()
  return row ?? null
}

/** A photo by the name it had under /uploads/ before it was imported (links shared before then). */
export async function readImportedUpload(db: Database, name: string): Promise<ServedPhoto | null> {
  if (!UPLOAD_NAME.test(name)) return null
  return (await servedPhoto(db).where('p.legacy_name', '=', name).executeTakeFirst()) ?? null
}

/**
 * The bytes of a photo found by one of the above, still only while an appeal uses it: null when
 * it was taken down in between. A separate query, so a 304 never reads them (hex over the wire,
 * they are most of a request's cost).
 */
export async function readPhotoBytes(db: Database, id: string): Promise<Uint8Array | null> {
  const row = await servedPhoto(db).select('p.bytes').where('p.id', '=', id).executeTakeFirst()
  return row?.bytes ?? null
}
