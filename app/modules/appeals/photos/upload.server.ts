import { unstable_parseMultipartFormData } from '@remix-run/node'
import { prepareImage, PHOTO_MAX_PIXELS } from '#app/modules/appeals/photos/image.server.ts'

/**
 * Reading an appeal photo from the staff form: the multipart body with its limits, the file's
 * type judged by its bytes, and the re-encoding that makes it safe to keep (image.server.ts).
 */

export const PHOTO_MAX_BYTES = 5 * 1024 * 1024
/** Enough for a 50,000-character story in any script; anything bigger is not our form. */
const FIELD_MAX_BYTES = 256 * 1024
const MAX_FIELDS = 50

export type ImageType = { extension: 'jpg' | 'png' | 'webp'; contentType: 'image/jpeg' | 'image/png' | 'image/webp' }
export const IMAGE_TYPES: Record<ImageType['extension'], ImageType> = {
  jpg: { extension: 'jpg', contentType: 'image/jpeg' },
  png: { extension: 'png', contentType: 'image/png' },
  webp: { extension: 'webp', contentType: 'image/webp' },
}
/** The names photos had on disk before they moved into the database (docs/decisions/015). */
export const UPLOAD_NAME = /^[a-f0-9]{32}\.(jpg|png|webp)$/

/** What the file is, judged by its first bytes: the name and the browser's Content-Type prove nothing. */
export function detectImageType(bytes: Uint8Array): ImageType | null {
  const starts = (signature: number[], offset = 0) => signature.every((byte, index) => bytes[offset + index] === byte)
  if (starts([0xff, 0xd8, 0xff])) return IMAGE_TYPES.jpg
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return IMAGE_TYPES.png
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return IMAGE_TYPES.webp
  return null
}

/** A photo ready to store: re-encoded, upright, without metadata, with its size in pixels. */
export type PhotoUpload = { bytes: Uint8Array; type: ImageType; width: number; height: number }
export type PhotoPart = { kind: 'none' } | { kind: 'too-large' } | { kind: 'file'; bytes: Uint8Array }

export class UploadRefused extends Error {}

async function drain(data: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array[] | null> {
  const chunks: Uint8Array[] = []
  let size = 0
  let over = false
  for await (const chunk of data) {
    size += chunk.byteLength
    if (size > limit) over = true
    // Keep reading past the limit, so the parser reaches the fields after this one.
    if (!over) chunks.push(chunk)
  }
  return over ? null : chunks
}

/**
 * Reads the multipart appeal form (and the event form, whose cover is a photo like an appeal's).
 * The photo, the part named `photo`, is held in memory (at most 5 MB; a larger one is read
 * through and reported, so the other fields are kept) and stored only once the whole form is
 * valid. Text fields are capped too; an oversized or crowded form is refused. `maxFields` is
 * higher for the event form, whose ticket rows bring seven fields each.
 */
export async function readAppealForm(request: Request, options: { maxFields?: number } = {}): Promise<{ formData: FormData; photo: PhotoPart }> {
  const maxFields = options.maxFields ?? MAX_FIELDS
  if (!isMultipart(request)) throw new UploadRefused('Not a multipart form')
  let photo: PhotoPart = { kind: 'none' }
  let fields = 0
  const formData = await unstable_parseMultipartFormData(request, async ({ name, filename, data }) => {
    fields += 1
    if (fields > maxFields) throw new UploadRefused('Too many fields')
    if (typeof filename === 'string') {
      const chunks = await drain(data, name === 'photo' ? PHOTO_MAX_BYTES : 0)
      // An empty file input is sent as a part with no name and no bytes: no photo chosen.
      if (name !== 'photo' || (filename === '' && chunks?.every((chunk) => chunk.byteLength === 0))) return undefined
      photo = chunks ? { kind: 'file', bytes: Buffer.concat(chunks) } : { kind: 'too-large' }
      return undefined
    }
    const chunks = await drain(data, FIELD_MAX_BYTES)
    if (!chunks) throw new UploadRefused(`The field ${name} is too large`)
    return Buffer.concat(chunks).toString('utf8')
  }).catch((error: unknown) => {
    // A body cut short or not multipart after all is a bad request, not a crash of ours.
    throw error instanceof UploadRefused ? error : new UploadRefused('The form could not be read')
  })
  return { formData, photo }
}

export function isMultipart(request: Request) {
  return (request.headers.get('Content-Type') ?? '').toLowerCase().startsWith('multipart/form-data')
}

const UNREADABLE_PHOTO = 'The photo could not be read. Save it again as a JPEG or PNG and choose it again'

/**
 * The photo to store (decoded and written again without metadata, upright, scaled down if it is
 * larger than a page shows), or the field error to show beside the file input. Only a file whose
 * first bytes say JPEG, PNG or WebP reaches the decoder.
 */
export async function checkPhoto(part: PhotoPart): Promise<{ photo: PhotoUpload | null; error: string | null }> {
  if (part.kind === 'none') return { photo: null, error: null }
  if (part.kind === 'too-large') return { photo: null, error: 'The photo must be 5 MB or smaller' }
  const type = detectImageType(part.bytes)
  if (!type) return { photo: null, error: 'The photo must be a JPEG, PNG or WebP image' }
  const prepared = await prepareImage(part.bytes, type.extension)
  if (prepared.kind === 'too-many-pixels') {
    return { photo: null, error: `The photo has too many pixels: ${PHOTO_MAX_PIXELS / 1_000_000} million at most. Save a smaller copy and choose that` }
  }
  if (prepared.kind === 'unreadable') return { photo: null, error: UNREADABLE_PHOTO }
  return { photo: { bytes: prepared.bytes, type, width: prepared.width, height: prepared.height }, error: null }
}
