import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseWithZod } from '@conform-to/zod'
import { unstable_parseMultipartFormData } from '@remix-run/node'
import { sql } from 'kysely'
import MarkdownIt from 'markdown-it'
import { z } from 'zod'
import type { AppealStatus } from '#db/schema.ts'
import { donationLimits } from '#app/modules/donations/amounts.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl, getEnv } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { formatMoney, minorUnitExponent, parseAmountToMinor, SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { stopAppealUpdatesUrl } from '#app/utils/signed-links.server.ts'
import { plainText, requiredText } from '#app/utils/text-input.ts'
import { wallClockMs } from '#app/utils/dates.ts'
import { exifOrientation, orientationOnlyApp1 } from './exif-orientation.server.ts'
import { fitPhoto, PHOTO_MAX_PIXELS } from './photo-size.server.ts'

/**
 * Staff run appeals here: create and edit them (with a photo kept on local disk), publish, close
 * and reopen them, and post updates that may be emailed to supporters who asked for news.
 * Every change writes an audit_log row in its own transaction.
 */

// ── The appeal form ─────────────────────────────────────────────────────────────────────────────

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const MAX_SUGGESTED_AMOUNTS = 6
/** Closing dates are calendar days where the organisation works; the appeal closes at the day's end. */
export const APPEAL_TIME_ZONE = 'Europe/London'

const limited = (max: number, label: string) => z.string().max(max, `${label} must be ${max.toLocaleString('en-GB')} characters or fewer`)
const optionalText = (max: number, label: string) =>
  plainText()
    .transform((text) => text.trim())
    .pipe(limited(max, label))
    .optional()
const checkbox = () => z.boolean().default(false)
/** Browsers send a textarea's line breaks as CRLF; the database keeps plain LF. */
const unixLineBreaks = (text: string) => text.replace(/\r\n?/g, '\n')

function amountExample(currency: string) {
  const exponent = minorUnitExponent(currency)
  return exponent === 0 ? '150,000' : `1,500.${'0'.repeat(exponent)}`
}

export const appealFormSchema = z
  .object({
    title: requiredText('Enter a title').pipe(limited(200, 'The title')),
    slug: requiredText('Enter the web address (slug)').pipe(
      limited(80, 'The web address').regex(SLUG_PATTERN, 'Use only lower-case letters, digits and single hyphens, like help-yusuf-walk'),
    ),
    summary: requiredText('Enter a short summary').pipe(limited(500, 'The summary')),
    beneficiaryName: requiredText('Enter the name to show for the person the appeal is for').pipe(limited(200, 'The name')),
    beneficiaryIsPseudonym: checkbox(),
    photoAlt: optionalText(300, 'The photo description'),
    removePhoto: checkbox(),
    storyMarkdown: requiredText('Write the story').pipe(limited(50_000, 'The story')).transform(unixLineBreaks),
    currency: z.enum(SUPPORTED_CURRENCIES, { errorMap: () => ({ message: 'Choose a currency from the list' }) }),
    goal: requiredText('Enter the goal'),
    suggestedAmounts: plainText().optional(),
    // Checked here, not with the amounts below, so its error shows even when another field fails.
    closesOn: z
      .string()
      .optional()
      .transform((day, ctx) => {
        if (!day) return null
        const closesAt = endOfDayInZone(day, APPEAL_TIME_ZONE)
        if (!closesAt) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Enter the closing date as a real date, like 2026-12-31' })
        return closesAt
      }),
  })
  .transform((value, ctx) => {
    const fail = (field: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message })
    const { currency } = value
    const goalMinor = parseAmountToMinor(value.goal, currency)
    if (goalMinor === null) fail('goal', `Enter the goal as an amount in ${currency}, like ${amountExample(currency)}`)
    else if (goalMinor <= 0) fail('goal', 'The goal must be more than zero')

    const suggestedAmountsMinor = parseSuggestedAmounts(value.suggestedAmounts ?? '', currency, (message) => fail('suggestedAmounts', message))

    const { goal: _goal, suggestedAmounts: _suggested, closesOn, ...rest } = value
    return { ...rest, photoAlt: rest.photoAlt || null, goalMinor: goalMinor ?? 0, suggestedAmountsMinor: suggestedAmountsMinor ?? [], closesAt: closesOn }
  })

export type AppealInput = z.output<typeof appealFormSchema>

/** "10, 25, 50" in major units → sorted, distinct minor units within what checkout accepts. */
function parseSuggestedAmounts(text: string, currency: string, fail: (message: string) => void): number[] | null {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
  if (parts.length > MAX_SUGGESTED_AMOUNTS) {
    fail(`Suggest at most ${MAX_SUGGESTED_AMOUNTS} amounts`)
    return null
  }
  const { minMinor, maxMinor } = donationLimits(currency)
  const amounts: number[] = []
  for (const part of parts) {
    const minor = parseAmountToMinor(part, currency)
    if (minor === null) {
      fail(`“${part.slice(0, 20)}” is not an amount in ${currency}. Separate amounts with commas, like 10, 25, 50`)
      return null
    }
    if (minor < minMinor || minor > maxMinor) {
      fail(`Each suggested amount must be between ${formatMoney(minMinor, currency)} and ${formatMoney(maxMinor, currency)}`)
      return null
    }
    amounts.push(minor)
  }
  return [...new Set(amounts)].sort((a, b) => a - b)
}

/** The suggested amounts as a person would type them again: "10, 25, 50". */
export function suggestedAmountsText(amountsMinor: number[], currency: string) {
  return amountsMinor.map((minor) => majorUnitsText(Number(minor), currency, false)).join(', ')
}

/** 150000 minor GBP → "1,500.00"; 150000 JPY → "150,000". Grouping is optional (off for lists). */
export function majorUnitsText(amountMinor: number, currency: string, grouping = true) {
  const exponent = minorUnitExponent(currency)
  return new Intl.NumberFormat('en-GB', { minimumFractionDigits: exponent, maximumFractionDigits: exponent, useGrouping: grouping }).format(
    amountMinor / 10 ** exponent,
  )
}


/** "2026-12-31" → the instant that day ends in the zone (midnight starting the next day); null if no such date. */
export function endOfDayInZone(day: string, timeZone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim())
  if (!match) return null
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const check = new Date(Date.UTC(year, month - 1, date))
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null
  const nextMidnightWallClock = Date.UTC(year, month - 1, date + 1)
  // Twice: the first guess may sit on the other side of a clock change from the answer.
  const offsetAt = (instant: number) => wallClockMs(instant, timeZone) - instant
  let instant = nextMidnightWallClock - offsetAt(nextMidnightWallClock)
  instant = nextMidnightWallClock - offsetAt(instant)
  return new Date(instant)
}

/** The calendar day (YYYY-MM-DD) an appeal closing at `closesAt` closes on, for the date input. */
export function closingDay(closesAt: Date, timeZone = APPEAL_TIME_ZONE) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(closesAt.getTime() - 1),
  )
}

// ── Photos ──────────────────────────────────────────────────────────────────────────────────────

export const PHOTO_MAX_BYTES = 5 * 1024 * 1024
/** Enough for a 50,000-character story in any script; anything bigger is not our form. */
const FIELD_MAX_BYTES = 256 * 1024
const MAX_FIELDS = 50

export type ImageType = { extension: 'jpg' | 'png' | 'webp'; contentType: string }
const IMAGE_TYPES: Record<ImageType['extension'], ImageType> = {
  jpg: { extension: 'jpg', contentType: 'image/jpeg' },
  png: { extension: 'png', contentType: 'image/png' },
  webp: { extension: 'webp', contentType: 'image/webp' },
}
const UPLOAD_NAME = /^[a-f0-9]{32}\.(jpg|png|webp)$/

/** What the file is, judged by its first bytes: the name and the browser's Content-Type prove nothing. */
export function detectImageType(bytes: Uint8Array): ImageType | null {
  const starts = (signature: number[], offset = 0) => signature.every((byte, index) => bytes[offset + index] === byte)
  if (starts([0xff, 0xd8, 0xff])) return IMAGE_TYPES.jpg
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return IMAGE_TYPES.png
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return IMAGE_TYPES.webp
  return null
}

export type PhotoUpload = { bytes: Uint8Array; type: ImageType }
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
 * Reads the multipart appeal form. The photo is held in memory (at most 5 MB; a larger one is
 * read through and reported, so the other fields are kept) and written to disk only once the
 * whole form is valid. Text fields are capped too; an oversized or crowded form is refused.
 */
export async function readAppealForm(request: Request): Promise<{ formData: FormData; photo: PhotoPart }> {
  if (!isMultipart(request)) throw new UploadRefused('Not a multipart form')
  let photo: PhotoPart = { kind: 'none' }
  let fields = 0
  const formData = await unstable_parseMultipartFormData(request, async ({ name, filename, data }) => {
    fields += 1
    if (fields > MAX_FIELDS) throw new UploadRefused('Too many fields')
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
 * The photo to store (its metadata removed, scaled down if it is larger than a page shows), or
 * the field error to show beside the file input. The scaler only ever sees the stripped bytes.
 */
export async function checkPhoto(part: PhotoPart): Promise<{ photo: PhotoUpload | null; error: string | null }> {
  if (part.kind === 'none') return { photo: null, error: null }
  if (part.kind === 'too-large') return { photo: null, error: 'The photo must be 5 MB or smaller' }
  const type = detectImageType(part.bytes)
  if (!type) return { photo: null, error: 'The photo must be a JPEG, PNG or WebP image' }
  const stripped = withoutMetadata(part.bytes, type)
  if (!stripped) return { photo: null, error: UNREADABLE_PHOTO }
  const fitted = await fitPhoto(stripped, type.extension)
  if (fitted.kind === 'too-many-pixels') {
    return { photo: null, error: `The photo has too many pixels: ${PHOTO_MAX_PIXELS / 1_000_000} million at most. Save a smaller copy and choose that` }
  }
  if (fitted.kind === 'unreadable') return { photo: null, error: UNREADABLE_PHOTO }
  if (fitted.kind === 'kept') return { photo: { bytes: stripped, type }, error: null }
  // What the encoder wrote is held to the same allow-list as what the phone wrote.
  const bytes = withoutMetadata(fitted.bytes, type)
  return bytes ? { photo: { bytes, type }, error: null } : { photo: null, error: UNREADABLE_PHOTO }
}

/**
 * The image without anything a camera or phone adds beside the pixels: EXIF (with the place a
 * photo was taken), XMP, comments, provenance manifests, second images and videos appended after
 * the picture. A beneficiary's whereabouts must not leak through a photo. Only what a decoder
 * needs is kept (an allow-list, so a format we have not heard of is dropped, not kept), pixels
 * are untouched, and null means the file's structure could not be followed.
 */
export function withoutMetadata(bytes: Uint8Array, type: ImageType): Uint8Array | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (type.extension === 'jpg') return jpegWithoutMetadata(buffer)
  if (type.extension === 'png') return pngWithoutMetadata(buffer)
  return webpWithoutMetadata(buffer)
}

const startsWithText = (data: Buffer, text: string) => data.subarray(0, text.length).equals(Buffer.from(text, 'latin1'))

/** Frame headers (SOF0-15); C4, C8 and CC share the range but are other things. */
const isFrameHeader = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
/** Tables the decoder reads: Huffman, arithmetic conditioning, quantisation, line count, restart interval. */
const JPEG_TABLES = new Set([0xc4, 0xcc, 0xdb, 0xdc, 0xdd])
const JPEG_EOI = Buffer.from([0xff, 0xd9])

/**
 * Keeps the tables, the frame header and the scans, and stops at the end-of-image marker that
 * closes the last scan: a Motion Photo's video, or the second images of a multi-picture file,
 * come after it and are dropped with it. Between progressive scans the segments are read again,
 * so an APPn there goes too.
 */
function jpegWithoutMetadata(bytes: Buffer): Buffer | null {
  const kept: Buffer[] = [bytes.subarray(0, 2)]
  let at = 2
  let frame = false
  let scanned = false
  let orientation: number | null | undefined
  for (;;) {
    if (bytes[at] !== 0xff) return null
    while (bytes[at] === 0xff) at += 1 // fill bytes before a marker
    if (at >= bytes.length) return null
    const marker = bytes[at]!
    if (marker === 0xd9) {
      if (!scanned) return null
      kept.push(JPEG_EOI)
      // After SOI and JFIF's header, where readers look for EXIF.
      if (orientation) kept.splice(kept[1]?.[1] === 0xe0 ? 2 : 1, 0, orientationOnlyApp1(orientation))
      return Buffer.concat(kept)
    }
    // A second SOI, a restart marker outside a scan, TEM or a stuffed zero: not a file we can follow.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) return null
    if (at + 3 > bytes.length) return null
    const length = bytes.readUInt16BE(at + 1)
    const end = at + 1 + length
    if (length < 2 || end > bytes.length) return null
    const segment = bytes.subarray(at - 1, end)
    const data = bytes.subarray(at + 3, end)
    at = end

    if (marker === 0xda) {
      if (!frame) return null
      kept.push(segment)
      const scanEnd = entropyCodedEnd(bytes, at)
      if (scanEnd === null) return null
      kept.push(bytes.subarray(at, scanEnd))
      at = scanEnd
      scanned = true
    } else if (isFrameHeader(marker)) {
      // One frame per image; a second one is a hierarchical or spliced file.
      if (frame) return null
      frame = true
      kept.push(segment)
    } else if (JPEG_TABLES.has(marker)) {
      kept.push(segment)
    } else if (marker === 0xe0) {
      // JFIF's header says how to read the colours; its optional thumbnail (which may show the
      // picture before it was cropped) goes, so the header is rewritten without it.
      if (startsWithText(data, 'JFIF\0') && data.length >= 14) {
        kept.push(Buffer.concat([Buffer.from([0xff, 0xe0, 0x00, 0x10]), data.subarray(0, 12), Buffer.from([0, 0])]))
      }
    } else if (marker === 0xe1) {
      // Only the first EXIF before the picture is the picture's; only its Orientation is kept.
      if (orientation === undefined && !frame && startsWithText(data, 'Exif\0\0')) orientation = exifOrientation(data)
    } else if (marker === 0xe2) {
      if (startsWithText(data, 'ICC_PROFILE\0')) kept.push(segment)
    } else if (marker === 0xee) {
      // Adobe's fixed seven bytes say whether the colours are RGB, YCbCr or CMYK; without them
      // such files decode with the wrong colours. Nothing else fits in them.
      if (startsWithText(data, 'Adobe') && data.length === 12) kept.push(segment)
    } else if (!((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe)) {
      // Every other APPn and COM is dropped; any other marker is one we cannot vouch for.
      return null
    }
  }
}

/**
 * Where a scan's compressed data ends: at the first marker in it. 0xFF is followed by 0x00 when
 * it is a data byte, and restart markers (D0-D7) belong to the scan; anything else ends it.
 */
function entropyCodedEnd(bytes: Buffer, from: number): number | null {
  let at = from
  for (;;) {
    const ff = bytes.indexOf(0xff, at)
    if (ff === -1 || ff + 1 >= bytes.length) return null
    const next = bytes[ff + 1]!
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) at = ff + 2
    else if (next === 0xff) at = ff + 1
    else return ff
  }
}

/** Critical chunks, and the ancillary ones that change how the pixels look: colour, transparency, size. */
const PNG_KEPT_CHUNKS = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'pHYs'])

/** Keeps the chunks above and stops after IEND: text, EXIF, dates and anything appended go. */
function pngWithoutMetadata(bytes: Buffer): Buffer | null {
  const kept: Buffer[] = [bytes.subarray(0, 8)]
  let at = 8
  while (at + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(at)
    const end = at + 12 + length
    if (end > bytes.length) return null
    const name = bytes.subarray(at + 4, at + 8).toString('latin1')
    if (at === 8 && name !== 'IHDR') return null
    if (PNG_KEPT_CHUNKS.has(name)) kept.push(bytes.subarray(at, end))
    // An unknown critical chunk (upper-case first letter) means a decoder could not show it either.
    else if (/^[A-Z]/.test(name)) return null
    at = end
    if (name === 'IEND') return Buffer.concat(kept)
  }
  return null
}

/** Image data, transparency, animation and the colour profile: no EXIF, no XMP, nothing unknown. */
const WEBP_KEPT_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF', 'ICCP'])
const WEBP_IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X'])
/** An animation frame holds its own chunks after a 16-byte header: only its pixels stay. */
const WEBP_FRAME_CHUNKS = new Set(['VP8 ', 'VP8L', 'ALPH'])
const WEBP_FRAME_HEADER = 16

/** Keeps the chunks above within the RIFF's own size (bytes after it go) and rewrites that size. */
function webpWithoutMetadata(bytes: Buffer): Buffer | null {
  const riffEnd = 8 + bytes.readUInt32LE(4)
  if (riffEnd > bytes.length) return null
  const chunks = webpChunks(bytes.subarray(12, riffEnd), WEBP_KEPT_CHUNKS)
  if (!chunks?.some(({ name }) => WEBP_IMAGE_CHUNKS.has(name))) return null
  const kept: Buffer[] = []
  for (const { name, data } of chunks) {
    let payload = data
    if (name === 'VP8X' && data.length > 0) {
      // The extended header's flags say which optional chunks follow: no EXIF (8), no XMP (4).
      payload = Buffer.from(data)
      payload[0] = payload[0]! & ~0x0c
    } else if (name === 'ANMF') {
      if (data.length < WEBP_FRAME_HEADER) return null
      const frame = webpChunks(data.subarray(WEBP_FRAME_HEADER), WEBP_FRAME_CHUNKS)
      if (!frame) return null
      payload = Buffer.concat([data.subarray(0, WEBP_FRAME_HEADER), ...frame.map((chunk) => webpChunk(chunk.name, chunk.data))])
    }
    kept.push(webpChunk(name, payload))
  }
  const body = Buffer.concat(kept)
  const header = Buffer.from(bytes.subarray(0, 12))
  header.writeUInt32LE(body.length + 4, 4)
  return Buffer.concat([header, body])
}

/** The chunks in `bytes` whose names are in `keep`; null when a chunk runs past the end. */
function webpChunks(bytes: Buffer, keep: Set<string>): { name: string; data: Buffer }[] | null {
  const chunks: { name: string; data: Buffer }[] = []
  let at = 0
  while (at + 8 <= bytes.length) {
    const name = bytes.subarray(at, at + 4).toString('latin1')
    const size = bytes.readUInt32LE(at + 4)
    const end = at + 8 + size
    if (end > bytes.length) return null
    if (keep.has(name)) chunks.push({ name, data: bytes.subarray(at + 8, end) })
    at = end + (size % 2)
  }
  return chunks
}

/** A chunk as written: name, size, data, and a pad byte when the size is odd. */
function webpChunk(name: string, data: Buffer) {
  const size = Buffer.alloc(4)
  size.writeUInt32LE(data.length, 0)
  return Buffer.concat([Buffer.from(name, 'latin1'), size, data, Buffer.alloc(data.length % 2)])
}

/**
 * The appeal form as submitted: conform's reading of the fields, which button was pressed, the
 * story as typed (for the preview) and the photo, checked. Throws UploadRefused for a request
 * that is not our form at all (not multipart, too many or too large fields).
 */
export async function readAppealSubmission(request: Request) {
  const { formData, photo } = await readAppealForm(request)
  const story = formData.get('storyMarkdown')
  return {
    submission: parseWithZod(formData, { schema: appealFormSchema }),
    intent: formData.get('intent') === 'preview' ? ('preview' as const) : ('save' as const),
    story: typeof story === 'string' ? story : '',
    photo: await checkPhoto(photo),
  }
}

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
function pendingPhoto(db: Database, photo: PhotoUpload | null) {
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (value: string | undefined): value is string => value !== undefined && UUID.test(value)

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

/** A second request taking the same slug between our check and our write still lands here. */
function isSlugClash(error: unknown) {
  const { code, constraint } = error as { code?: string; constraint?: string }
  return code === '23505' && (constraint === undefined || constraint.includes('slug'))
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

async function audit(
  trx: DatabaseTransaction,
  staffUserId: string | null,
  action: string,
  appealId: string,
  details: Record<string, unknown> = {},
) {
  await trx
    .insertInto('audit_log')
    .values({ staff_user_id: staffUserId, action, subject_type: 'appeal', subject_id: appealId, details: JSON.stringify(details) })
    .execute()
}

/** A new appeal, always a draft. The photo stays on disk only if the row is committed. */
export async function createAppeal(
  db: Database,
  input: AppealInput,
  options: { staffUserId: string | null; photo: PhotoUpload | null },
): Promise<SaveOutcome> {
  if (options.photo && !input.photoAlt) return { outcome: 'invalid', fieldErrors: { photoAlt: [ALT_NEEDED] } }
  const photo = pendingPhoto(db, options.photo)
  let outcome: SaveOutcome | null = null
  try {
    outcome = await db.transaction().execute(async (trx): Promise<SaveOutcome> => {
      if (await slugTaken(trx, input.slug, null)) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
      const photoPath = await photo.store()
      const { id } = await trx
        .insertInto('appeals')
        .values({ ...appealColumns(input), photo_path: photoPath, photo_alt: photoPath ? input.photoAlt : null, status: 'draft' })
        .returning('id')
        .executeTakeFirstOrThrow()
      await audit(trx, options.staffUserId, 'appeal.create', id, { slug: input.slug, currency: input.currency, goalMinor: input.goalMinor })
      return { outcome: 'saved', id }
    })
    return outcome
  } catch (error) {
    if (isSlugClash(error)) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
    throw error
  } finally {
    await photo.settle(outcome)
  }
}

/**
 * Saves the edit form. The currency is fixed once any donation exists (totals, receipts and the
 * ledger are in it). A replaced or removed photo's file is deleted once the change is committed:
 * a photo taken down (someone could be recognised in it) must stop being served.
 */
export async function updateAppeal(
  db: Database,
  appealId: string,
  input: AppealInput,
  options: { staffUserId: string | null; photo: PhotoUpload | null },
): Promise<SaveOutcome> {
  if (!isUuid(appealId)) return { outcome: 'not-found' }
  const photo = pendingPhoto(db, options.photo)
  let outcome: SaveOutcome | null = null
  let replaced: string | null = null
  try {
    outcome = await db.transaction().execute(async (trx): Promise<SaveOutcome> => {
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

      const photoPath = options.photo ? await photo.store() : keepsPhoto ? current.photo_path : null
      replaced = photoPath === current.photo_path ? null : current.photo_path
      const columns = { ...appealColumns(input), photo_path: photoPath, photo_alt: photoPath ? input.photoAlt : null }
      const changed = Object.entries(columns)
        .filter(([column, value]) => JSON.stringify(value) !== JSON.stringify(normalise(current[column as keyof typeof current])))
        .map(([column]) => column)
      await trx.updateTable('appeals').set({ ...columns, updated_at: new Date() }).where('id', '=', appealId).execute()
      await audit(trx, options.staffUserId, 'appeal.edit', appealId, { changed })
      return { outcome: 'saved', id: appealId }
    })
    return outcome
  } catch (error) {
    if (isSlugClash(error)) return { outcome: 'invalid', fieldErrors: { slug: [SLUG_TAKEN] } }
    throw error
  } finally {
    await photo.settle(outcome, replaced)
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
    await audit(trx, options.staffUserId, `appeal.${change}`, appealId, { from: appeal.status, to: next })
    return { outcome: 'done', status: next }
  })
}

// ── Updates ─────────────────────────────────────────────────────────────────────────────────────

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
    await audit(trx, options.staffUserId, 'appeal.update.post', appealId, { updateId: id, email: input.email })
    return { outcome: 'posted' as const, updateId: id }
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
    await db.transaction().execute(async (trx) => {
      for (const supporter of batch) {
        const { created } = await enqueueEmail(trx, {
          template: 'appeal-update',
          to: supporter.email!,
          props: { ...common, name: supporter.name, unsubscribeUrl: stopAppealUpdatesUrl(update.appeal_id, supporter.id) },
          idempotencyKey: `appeal-update:${update.id}:${supporter.id}`,
        })
        if (created) enqueued += 1
      }
    })
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
