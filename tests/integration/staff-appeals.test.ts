import { createHash, randomUUID } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { sql } from 'kysely'
import sharp from 'sharp'
import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { loader as publicAppealLoader } from '#app/routes/appeals.$slug.tsx'
import { action as editAction, loader as editLoader } from '#app/routes/staff.appeals.$id.tsx'
import { action as updatesAction, loader as updatesLoader } from '#app/routes/staff.appeals.$id_.updates.tsx'
import { loader as listLoader } from '#app/routes/staff.appeals._index.tsx'
import { action as newAction, loader as newLoader } from '#app/routes/staff.appeals.new.tsx'
import { action as stopAction, loader as stopLoader } from '#app/routes/updates.stop.tsx'
import { loader as photoLoader } from '#app/routes/photos.$file.ts'
import { createAppeal as createAppealRow, createPendingDonation } from './donation-fixtures.ts'
import { createStaff, getRequest, ORIGIN, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { emailAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'
import { detectImageType, checkPhoto, PHOTO_MAX_BYTES } from '#app/modules/appeals/photos/upload.server.ts'

const db = getDb()
const args = (request: Request, params: Record<string, string> = {}) => ({ request, params, context: {} })

let cookie: string

beforeAll(async () => {
  const staff = await createStaff('staff')
  cookie = await sessionCookieFor(staff.id)
})

/** A real 1×1 PNG: the signature, IHDR, IDAT and IEND. */
const PNG = new Uint8Array(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'))

function segment(marker: number, text: string) {
  const data = Buffer.from(text, 'latin1')
  return Buffer.concat([Buffer.from([0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data])
}

/** Real 8×8 grey JPEGs (libjpeg's cjpeg): baseline, and progressive with six scans. Neither has metadata. */
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAABP/EABgQAAIDAAAAAAAAAAAAAAAAAAAEBSIx/9oACAEBAAA/ACoQmVP/2Q==',
  'base64',
)
const PROGRESSIVE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/wgALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAA//aAAgBAQAAAAEv/8QAFhAAAwAAAAAAAAAAAAAAAAAAAAID/9oACAEBAAEFAkif/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQAGPwJ//8QAFRABAQAAAAAAAAAAAAAAAAAAAGH/2gAIAQEAAT8hm//aAAgBAQAAABB//8QAFRABAQAAAAAAAAAAAAAAAAAAADH/2gAIAQEAAT8Qmf/Z',
  'base64',
)
const JFIF_LENGTH = 18
const SOS = Buffer.from([0xff, 0xda])
/** What a phone adds after the picture: a Motion Photo's video, with its own location. */
const APPENDED = Buffer.from('\0\0\0\x18ftypmp42 GPS 51.5072N 0.1276W', 'latin1')

/** The JPEG as a phone writes it: EXIF (where it was taken), a C2PA manifest (APP11), a comment, a video after the end. */
const JPEG_FROM_A_PHONE = new Uint8Array(
  Buffer.concat([
    JPEG.subarray(0, 2 + JFIF_LENGTH),
    segment(0xe1, 'Exif\0\0GPS 51.5072N 0.1276W'),
    segment(0xeb, 'JP\0\0c2pa location: the safe house'),
    segment(0xfe, 'taken at the safe house'),
    JPEG.subarray(2 + JFIF_LENGTH),
    APPENDED,
  ]),
)

/**
 * EXIF as a phone writes it, in either byte order: the camera's make (out of line, naming the
 * place), the Orientation, and a GPS IFD pointer, in IFD0 as the standard orders them.
 */
function exifFromAPhone(order: 'II' | 'MM', orientation: number) {
  const tiff = Buffer.alloc(8 + 2 + 3 * 12 + 4 + 32)
  const little = order === 'II'
  const w16 = (value: number, at: number) => (little ? tiff.writeUInt16LE(value, at) : tiff.writeUInt16BE(value, at))
  const w32 = (value: number, at: number) => (little ? tiff.writeUInt32LE(value, at) : tiff.writeUInt32BE(value, at))
  tiff.write(order, 0, 'latin1')
  w16(42, 2)
  w32(8, 4)
  w16(3, 8)
  const make = 'Pixel at the safe house\0'
  const makeAt = 8 + 2 + 3 * 12 + 4
  // Make: ASCII, out of line.
  w16(0x010f, 10)
  w16(2, 12)
  w32(make.length, 14)
  w32(makeAt, 18)
  // Orientation: one SHORT, left-aligned in the value.
  w16(0x0112, 22)
  w16(3, 24)
  w32(1, 26)
  w16(orientation, 30)
  // GPS IFD pointer (to the make's bytes: the reader must not follow it).
  w16(0x8825, 34)
  w16(4, 36)
  w32(1, 38)
  w32(makeAt, 42)
  w32(0, 46)
  tiff.write(make, makeAt, 'latin1')
  const data = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])
  return Buffer.concat([Buffer.from([0xff, 0xe1, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data])
}

/** A slug that another request takes inside our transaction, between the check and the write: a real unique violation. */
async function withFasterRequestFor(slug: string, run: () => Promise<void>) {
  await sql`create function h_photos_faster_request() returns trigger language plpgsql as $$
    begin
      if new.slug = ${sql.lit(slug)} and new.title <> 'Faster request' then
        insert into appeals (slug, title, summary, beneficiary_name, story_markdown, currency, goal_minor)
        values (new.slug, 'Faster request', 'S', 'B', 'Story', 'GBP', 100);
      end if;
      return new;
    end $$`.execute(db)
  await sql`create trigger h_photos_faster_request before insert or update on appeals for each row execute function h_photos_faster_request()`.execute(db)
  try {
    await run()
  } finally {
    await sql`drop trigger h_photos_faster_request on appeals`.execute(db)
    await sql`drop function h_photos_faster_request()`.execute(db)
  }
}

const PHOTO_PATH = /^\/photos\/([0-9a-f-]{36})\.([0-9a-f]{64})\.(jpg|png|webp)$/
const fileOf = (photoPath: string | null) => photoPath!.slice('/photos/'.length)
const serve = (file: string, headers: Record<string, string> = {}) => photoLoader(args(getRequest(`/photos/${file}`, { headers }), { file }))
/** The bytes an appeal's photo is stored as, read from its row. */
async function storedPhoto(photoPath: string | null) {
  const id = PHOTO_PATH.exec(photoPath ?? '')![1]!
  const { bytes } = await db.selectFrom('appeal_photos').select('bytes').where('id', '=', id).executeTakeFirstOrThrow()
  return Buffer.from(bytes)
}
async function photoIds() {
  return (await db.selectFrom('appeal_photos').select('id').orderBy('id').execute()).map((row) => row.id)
}
const photoRowExists = async (photoPath: string | null) => (await photoIds()).includes(PHOTO_PATH.exec(photoPath ?? '')![1]!)
/** No metadata of any kind, as sharp reads the file and as its bytes show. */
async function expectNoMetadata(stored: Buffer) {
  const seen = await sharp(stored).metadata()
  expect([seen.exif, seen.xmp, seen.icc, seen.iptc, seen.orientation, seen.comments]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined])
  for (const marker of ['Exif', 'http://ns.adobe.com/xap', 'xmpmeta', 'c2pa', 'MPF', 'ICC_PROFILE', 'ftyp', 'GPS', 'tEXt', 'iTXt', 'zTXt', 'eXIf', 'EXIF', 'XMP ', 'iCCP', 'ICCP']) {
    expect(stored.toString('latin1'), marker).not.toContain(marker)
  }
}
/** Mean difference per channel between two images of the same size, as sRGB pixels. */
async function pixelDifference(a: Buffer, b: Buffer) {
  const [left, right] = await Promise.all([a, b].map((bytes) => sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer()))
  expect(left!.length).toBe(right!.length)
  let total = 0
  for (let at = 0; at < left!.length; at += 1) total += Math.abs(left![at]! - right![at]!)
  return total / left!.length
}

type Fields = Record<string, string>
type FormAnswer = { kind?: string; result: { status?: string; error?: Record<string, string[] | null>; initialValue?: Record<string, unknown> }; previewHtml: string | null }

function validFields(overrides: Fields = {}): Fields {
  return {
    intent: 'save',
    title: 'Help Amal see again',
    slug: `amal-${randomUUID().slice(0, 8)}`,
    summary: 'Eye surgery for Amal after years in detention.',
    beneficiaryName: 'Amal',
    storyMarkdown: 'Amal was held for **six years**.',
    currency: 'GBP',
    goal: '1,500.00',
    suggestedAmounts: '10, 25, 50',
    ...overrides,
  }
}

function multipart(pathName: string, fields: Fields, file?: { bytes: Uint8Array; name: string; type: string }, requestCookie: string | null = cookie) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  if (file) form.append('photo', new File([Buffer.from(file.bytes)], file.name, { type: file.type }))
  else form.append('photo', new File([], '', { type: 'application/octet-stream' }))
  const headers = new Headers({ Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' })
  if (requestCookie) headers.set('Cookie', requestCookie)
  return new Request(`${ORIGIN}${pathName}`, { method: 'POST', headers, body: form })
}

async function submitNew(fields: Fields, file?: Parameters<typeof multipart>[2]) {
  const answer = await settle(() => newAction(args(multipart('/staff/appeals/new', fields, file))))
  return { ...answer, form: answer.body as FormAnswer | null }
}

async function submitEdit(id: string, fields: Fields, file?: Parameters<typeof multipart>[2]) {
  const answer = await settle(() => editAction(args(multipart(`/staff/appeals/${id}`, fields, file), { id })))
  return { ...answer, form: answer.body as FormAnswer | null }
}

async function createdId(answer: { status: number; headers: Headers }) {
  expect(answer.status).toBe(303)
  const match = /^\/staff\/appeals\/([0-9a-f-]{36})\?saved=created$/.exec(answer.headers.get('Location') ?? '')
  expect(match).not.toBeNull()
  return match![1]!
}

async function appealCount() {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from appeals`.execute(db)
  return rows[0]!.n
}

async function auditCount() {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_log where action like 'appeal.%'`.execute(db)
  return rows[0]!.n
}

async function appealRow(id: string) {
  return db.selectFrom('appeals').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function statusChange(id: string, intent: string) {
  return settle(() => editAction(args(postRequest(`/staff/appeals/${id}`, { intent }, { cookie }), { id })))
}

async function publicPage(slug: string) {
  return settle(() => publicAppealLoader(args(getRequest(`/appeals/${slug}`), { slug })))
}

describe('creating an appeal', () => {
  test('bad input answers 400 with an error beside each field, keeps the values and writes nothing', async () => {
    const [appealsBefore, auditBefore, photosBefore] = [await appealCount(), await auditCount(), await photoIds()]
    const answer = await submitNew(
      validFields({ title: '   ', slug: 'Not A Slug!', goal: 'lots', currency: 'XYZ', suggestedAmounts: '10, ten', closesOn: '2026-02-30' }),
      { bytes: PNG, name: 'photo.png', type: 'image/png' },
    )
    expect(answer.status).toBe(400)
    const errors = answer.form!.result.error!
    expect(Object.keys(errors)).toEqual(expect.arrayContaining(['title', 'slug', 'currency', 'closesOn']))
    expect(errors.slug![0]).toMatch(/lower-case letters, digits and single hyphens/)
    expect(answer.form!.result.initialValue).toMatchObject({ slug: 'Not A Slug!', goal: 'lots', summary: validFields().summary })
    expect(await appealCount()).toBe(appealsBefore)
    expect(await auditCount()).toBe(auditBefore)
    expect(await photoIds()).toEqual(photosBefore)
  })

  test('an amount that does not fit the currency is a field error on the goal and the suggestions', async () => {
    const answer = await submitNew(validFields({ currency: 'JPY', goal: '1,500.50', suggestedAmounts: '1000, 2.5' }))
    expect(answer.status).toBe(400)
    expect(answer.form!.result.error!.goal![0]).toMatch(/amount in JPY, like 150,000/)
    expect(answer.form!.result.error!.suggestedAmounts![0]).toMatch(/“2.5” is not an amount in JPY/)
  })

  test('a KWD suggested amount Stripe cannot charge (not ending in 0) is a field error, and nothing is written', async () => {
    const before = await appealCount()
    const answer = await submitNew(validFields({ currency: 'KWD', goal: '5000', suggestedAmounts: '5, 10.505' }))
    expect(answer.status).toBe(400)
    expect(answer.form!.result.error!.suggestedAmounts![0]).toMatch(/Amounts in KWD must end in 0/)
    expect(await appealCount()).toBe(before)
    expect((await submitNew(validFields({ currency: 'KWD', goal: '5000', suggestedAmounts: '5, 10.510' }))).status).toBe(303)
  })

  test('a slug another appeal uses is a field error, not a crash, on create and on edit', async () => {
    const existing = await createAppealRow()
    const before = await appealCount()
    const answer = await submitNew(validFields({ slug: existing.slug }))
    expect(answer.status).toBe(400)
    expect(answer.form!.result.error!.slug![0]).toMatch(/Another appeal already uses this web address/)
    expect(await appealCount()).toBe(before)

    const id = await createdId(await submitNew(validFields()))
    const edit = await submitEdit(id, validFields({ slug: existing.slug }))
    expect(edit.status).toBe(400)
    expect(edit.form!.result.error!.slug![0]).toMatch(/Another appeal already uses/)
    expect((await appealRow(id)).slug).not.toBe(existing.slug)
  })

  test('a JPY goal is stored as entered (no decimals), a GBP goal in pence; created as a draft with an audit row', async () => {
    const yen = await createdId(await submitNew(validFields({ currency: 'JPY', goal: '150,000', suggestedAmounts: '5000, 1000, 3000, 1000' })))
    expect(await appealRow(yen)).toMatchObject({ currency: 'JPY', goal_minor: 150_000, suggested_amounts_minor: [1_000, 3_000, 5_000], status: 'draft' })
    const pounds = await createdId(await submitNew(validFields({ goal: '1,500.00', closesOn: '2099-06-30', storyMarkdown: 'One.\n\nTwo.' })))
    const row = await appealRow(pounds)
    expect(row).toMatchObject({ currency: 'GBP', goal_minor: 150_000, suggested_amounts_minor: [1_000, 2_500, 5_000], story_markdown: 'One.\n\nTwo.' })
    // The end of 30 June, UK summer time.
    expect(row.closes_at!.toISOString()).toBe('2099-06-30T23:00:00.000Z')
    const audit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'appeal.create').where('subject_id', '=', pounds).execute()
    expect(audit).toHaveLength(1)

    // The edit page gives the amounts back in major units, as they were typed.
    const page = await settle(() => editLoader(args(getRequest(`/staff/appeals/${yen}`, { cookie }), { id: yen })))
    expect((page.body as Awaited<ReturnType<typeof editLoader>>).defaultValue).toMatchObject({ goal: '150,000', suggestedAmounts: '1000, 3000, 5000' })
  })

  test('the list shows every appeal with its status, currency, goal and what it raised', async () => {
    const id = await createdId(await submitNew(validFields({ title: 'Listed appeal', currency: 'JPY', goal: '20000', suggestedAmounts: '' })))
    const answer = await settle(() => listLoader(args(getRequest('/staff/appeals', { cookie }))))
    expect(answer.status).toBe(200)
    const row = (answer.body as Awaited<ReturnType<typeof listLoader>>).appeals.find((appeal) => appeal.id === id)
    expect(row).toMatchObject({ title: 'Listed appeal', status: 'draft', currency: 'JPY', goalMinor: 20_000, raisedMinor: 0, goal: formatMoney(20_000, 'JPY'), raised: formatMoney(0, 'JPY') })
    expect(row!.goal).toMatch(/¥20,000$/)
  })
})

describe('photos', () => {
  test('a PNG (by its bytes) is stored in the database and served at its hashed address with its type, nosniff, a strong ETag and a year\'s immutable cache', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal in her garden' }), { bytes: PNG, name: 'holiday.jpg', type: 'image/jpeg' }))
    const row = await appealRow(id)
    const [, photoId, hash] = PHOTO_PATH.exec(row.photo_path!)!
    expect(row.photo_path).toMatch(/\.png$/)
    expect(row.photo_id).toBe(photoId)
    expect(row.photo_alt).toBe('Amal in her garden')
    const photo = await db.selectFrom('appeal_photos').selectAll().where('id', '=', photoId!).executeTakeFirstOrThrow()
    const bytes = Buffer.from(photo.bytes)
    expect(photo).toMatchObject({ content_type: 'image/png', byte_size: bytes.length, sha256: hash, width: 1, height: 1 })
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(hash)
    // Re-encoded, and the same single pixel.
    expect(await pixelDifference(bytes, Buffer.from(PNG))).toBe(0)

    const file = fileOf(row.photo_path)
    const served = await serve(file)
    expect(served.status).toBe(200)
    expect(served.headers.get('Content-Type')).toBe('image/png')
    expect(served.headers.get('Content-Length')).toBe(String(bytes.length))
    expect(served.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(served.headers.get('ETag')).toBe(`"${hash}"`)
    expect(served.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable')
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes)

    // A browser that has it already gets 304 and no body, whichever way it names the tag.
    for (const ifNoneMatch of [`"${hash}"`, `W/"${hash}"`, `"other", "${hash}"`]) {
      const again = await serve(file, { 'If-None-Match': ifNoneMatch })
      expect(again.status).toBe(304)
      expect(again.headers.get('ETag')).toBe(`"${hash}"`)
      expect(again.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable')
      expect(await again.text()).toBe('')
    }
    expect((await serve(file, { 'If-None-Match': '"other"' })).status).toBe(200)

    // A row no appeal uses is not served, nor is any name we would not have made.
    const stray = await db.insertInto('appeal_photos').values({ bytes, content_type: 'image/png', byte_size: bytes.length, sha256: hash!, width: 1, height: 1 }).returning('id').executeTakeFirstOrThrow()
    const wrongHash = `${photoId}.${'0'.repeat(64)}.png`
    for (const name of ['../package.json', `${photoId}.${hash}.jpg`, `${photoId}.${hash}.svg`, wrongHash, `${randomUUID()}.${hash}.png`, `${stray.id}.${hash}.png`, `${photoId}.png`]) {
      const answer = await serve(name)
      expect(answer.status, name).toBe(404)
      expect(answer.headers.get('Cache-Control')).toBe('no-store')
    }
    await db.deleteFrom('appeal_photos').where('id', '=', stray.id).execute()
  })

  test('a JPEG from a phone is stored with no EXIF, C2PA, comment or appended video, as sharp reads it and in its bytes, its pixels kept', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: JPEG_FROM_A_PHONE, name: 'PXL_0001.MP.jpg', type: 'image/jpeg' }))
    const { photo_path } = await appealRow(id)
    expect(photo_path).toMatch(/\.jpg$/)
    const stored = await storedPhoto(photo_path)
    expect(stored.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]))
    expect(stored.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]))
    for (const gone of ['Exif', 'GPS', 'c2pa', 'safe house', 'ftyp']) expect(stored.toString('latin1')).not.toContain(gone)
    expect(stored.includes(APPENDED)).toBe(false)
    await expectNoMetadata(stored)
    expect(await sharp(stored).metadata()).toMatchObject({ format: 'jpeg', width: 8, height: 8 })
    // Decoded and encoded again: the same picture, within what a JPEG re-encode moves.
    expect(await pixelDifference(stored, JPEG)).toBeLessThan(3)
  })

  test('a JPEG with a JFIF thumbnail, an ICC profile, MPF, EXIF between progressive scans and a second image is stored as one image with none of them; a cut-off JPEG is refused', async () => {
    const thirdScan = PROGRESSIVE_JPEG.indexOf(SOS, PROGRESSIVE_JPEG.indexOf(SOS, PROGRESSIVE_JPEG.indexOf(SOS) + 2) + 2)
    const secondImage = Buffer.concat([Buffer.from([0xff, 0xd8]), segment(0xe1, 'Exif\0\0second image GPS'), JPEG.subarray(2)])
    const thumbnail = '6×1 thumbnail, RGB'
    const dirty = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      // JFIF with a 6×1 thumbnail (which may show the picture before it was cropped).
      segment(0xe0, `JFIF\0\x01\x01\0\0\x01\0\x01\x06\x01${thumbnail}`),
      segment(0xe2, 'MPF\0multi-picture index'),
      PROGRESSIVE_JPEG.subarray(2 + JFIF_LENGTH, thirdScan),
      segment(0xe1, 'Exif\0\0between scans'),
      PROGRESSIVE_JPEG.subarray(thirdScan),
      secondImage,
    ])
    const { photo, error } = await checkPhoto({ kind: 'file', bytes: new Uint8Array(dirty) })
    expect(error).toBeNull()
    const cleaned = Buffer.from(photo!.bytes)
    expect(cleaned.toString('latin1')).not.toMatch(/Exif|MPF|GPS|between scans|second image/)
    expect(cleaned.toString('latin1')).not.toContain(thumbnail)
    await expectNoMetadata(cleaned)
    // One image: a single start and a single end marker (inside the scans 0xFF is always followed by 0x00 or a restart marker).
    expect(cleaned.toString('latin1').split('\xff\xd8').length - 1).toBe(1)
    expect(cleaned.toString('latin1').split('\xff\xd9').length - 1).toBe(1)
    expect(await pixelDifference(cleaned, PROGRESSIVE_JPEG)).toBeLessThan(3)

    // A real ICC profile (Display P3) is applied to the pixels and then left out.
    const withProfile = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#b04a2f' } }).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer()
    expect((await sharp(withProfile).metadata()).icc).toBeDefined()
    const converted = await checkPhoto({ kind: 'file', bytes: new Uint8Array(withProfile) })
    await expectNoMetadata(Buffer.from(converted.photo!.bytes))

    // No end marker, or a marker libjpeg cannot read before the image: refused, never stored as it came.
    for (const broken of [JPEG.subarray(0, -2), JPEG.subarray(0, JPEG.length - 40), Buffer.concat([JPEG.subarray(0, 2), segment(0xf7, 'JPEG-LS'), JPEG.subarray(2)])]) {
      expect((await checkPhoto({ kind: 'file', bytes: new Uint8Array(broken) })).error).toMatch(/could not be read/)
    }
  })

  test('a photo stored sideways is turned upright in its pixels, in either byte order, and keeps nothing of its EXIF', async () => {
    // 40×20 pixels, red on the left half and blue on the right, as a phone stores a portrait shot on its side.
    const width = 40
    const height = 20
    const pixels = Buffer.alloc(width * height * 3)
    for (let at = 0; at < width * height; at += 1) pixels.set((at % width) < width / 2 ? [220, 30, 30] : [30, 30, 220], at * 3)
    const sideways = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
    const withExif = (exif: Buffer) => Buffer.concat([sideways.subarray(0, 2), exif, sideways.subarray(2)])
    const upright = async (bytes: Buffer) => {
      const { photo, error } = await checkPhoto({ kind: 'file', bytes: new Uint8Array(bytes) })
      expect(error).toBeNull()
      const stored = Buffer.from(photo!.bytes)
      await expectNoMetadata(stored)
      expect(stored.toString('latin1')).not.toMatch(/Pixel|safe house/)
      const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true })
      const colourAt = (x: number, y: number) => (data[(y * info.width + x) * info.channels]! > 128 ? 'red' : 'blue')
      return { width: info.width, height: info.height, top: colourAt(info.width / 2, 2), bottom: colourAt(info.width / 2, info.height - 3), left: colourAt(2, info.height / 2) }
    }

    // 6 says "turn 90° clockwise": the left (red) comes to the top.
    for (const order of ['II', 'MM'] as const) {
      expect(await upright(withExif(exifFromAPhone(order, 6)))).toMatchObject({ width: 20, height: 40, top: 'red', bottom: 'blue' })
    }
    // 8 says "turn 90° anticlockwise": the left comes to the bottom.
    expect(await upright(withExif(exifFromAPhone('II', 8)))).toMatchObject({ width: 20, height: 40, top: 'blue', bottom: 'red' })
    // Upright already, an Orientation that is not one, or an EXIF that cannot be followed: stored as it was seen.
    for (const exif of [exifFromAPhone('II', 1), exifFromAPhone('II', 9), segment(0xe1, 'Exif\0\0MM\0*')]) {
      expect(await upright(withExif(exif))).toMatchObject({ width: 40, height: 20, left: 'red' })
    }
  })

  test('a PNG loses its text, EXIF and provenance chunks and anything after IEND, its pixels the same; a PNG whose chunks cannot be followed is refused', async () => {
    // With real CRCs, as a phone or an editor writes them.
    const chunk = (name: string, text: string) => {
      const data = Buffer.concat([Buffer.from(name, 'latin1'), Buffer.from(text, 'latin1')])
      const length = Buffer.alloc(4)
      length.writeUInt32BE(data.length - 4, 0)
      const crc = Buffer.alloc(4)
      crc.writeUInt32BE(crc32(data), 0)
      return Buffer.concat([length, data, crc])
    }
    const afterEnd = chunk('eXIf', 'GPS 31.6N 65.7E')
    const withText = Buffer.concat([Buffer.from(PNG.subarray(0, 33)), chunk('tEXt', 'Location\0Kandahar!'), chunk('caBX', 'c2pa'), Buffer.from(PNG.subarray(33)), afterEnd])
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: new Uint8Array(withText), name: 'p.png', type: 'image/png' }))
    const stored = await storedPhoto((await appealRow(id)).photo_path)
    expect(stored.toString('latin1')).not.toMatch(/Kandahar|c2pa|caBX|GPS/)
    expect(stored.includes(afterEnd)).toBe(false)
    await expectNoMetadata(stored)
    // PNG is lossless: the pixels are exactly the ones uploaded.
    expect(await pixelDifference(stored, Buffer.from(PNG))).toBe(0)

    const truncated = await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG.subarray(0, 40), name: 'p.png', type: 'image/png' })
    expect(truncated.status).toBe(400)
    expect(truncated.form!.result.error!.photo![0]).toMatch(/could not be read/)
  })

  test('a WebP loses its EXIF, XMP, unknown chunks and what follows it; an animated one keeps its first frame only, without metadata', async () => {
    const chunk = (name: string, data: Buffer) => {
      const size = Buffer.alloc(4)
      size.writeUInt32LE(data.length, 0)
      return Buffer.concat([Buffer.from(name, 'latin1'), size, data, data.length % 2 ? Buffer.from([0]) : Buffer.alloc(0)])
    }
    const gps = { IFD0: { Make: 'Pixel at the safe house' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } }
    const xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:title="the safe house"/></rdf:RDF></x:xmpmeta>'
    const tagged = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#2f6fb0' } }).withExif(gps).withXmp(xmp).webp({ quality: 90 }).toBuffer()
    expect((await sharp(tagged).metadata()).exif).toBeDefined()
    // An unknown chunk inside the RIFF, and bytes after the RIFF's own size.
    const body = Buffer.concat([tagged.subarray(8), chunk('C2PA', Buffer.from('provenance: the safe house', 'latin1'))])
    const size = Buffer.alloc(4)
    size.writeUInt32LE(body.length, 0)
    const webp = new Uint8Array(Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body, chunk('EXIF', Buffer.from('appended GPS', 'latin1'))]))
    expect(detectImageType(webp)!.contentType).toBe('image/webp')
    const { photo, error } = await checkPhoto({ kind: 'file', bytes: webp })
    expect(error).toBeNull()
    const cleaned = Buffer.from(photo!.bytes)
    expect(cleaned.toString('latin1')).not.toMatch(/GPS|safe house|provenance|C2PA/)
    expect(cleaned.readUInt32LE(4)).toBe(cleaned.length - 8)
    await expectNoMetadata(cleaned)
    expect(await sharp(cleaned).metadata()).toMatchObject({ format: 'webp', width: 32, height: 24 })

    // Three frames, the first red, each carrying the file's EXIF and XMP: one still frame comes back.
    const frame = (colour: string) => sharp({ create: { width: 20, height: 20, channels: 3, background: colour } }).png().toBuffer()
    const animated = await sharp(await Promise.all(['#dd2222', '#22dd22', '#2222dd'].map(frame)), { join: { animated: true } })
      .withExif(gps)
      .withXmp(xmp)
      .webp({ loop: 0 })
      .toBuffer()
    expect((await sharp(animated).metadata()).pages).toBe(3)
    const still = await checkPhoto({ kind: 'file', bytes: new Uint8Array(animated) })
    const stored = Buffer.from(still.photo!.bytes)
    await expectNoMetadata(stored)
    expect(stored.toString('latin1')).not.toMatch(/ANIM|ANMF/)
    const seen = await sharp(stored).metadata()
    expect([seen.format, seen.width, seen.height, seen.pages ?? 1]).toEqual(['webp', 20, 20, 1])
    const [red] = await sharp(stored).raw().toBuffer()
    expect(red).toBeGreaterThan(180)
  })

  test('a text file named .png, or a photo over 5 MB, is refused beside the field and nothing is written', async () => {
    const before = [await appealCount(), await photoIds()]
    const text = new TextEncoder().encode('just some text, honest\n')
    const fake = await submitNew(validFields({ photoAlt: 'A photo' }), { bytes: text, name: 'photo.png', type: 'image/png' })
    expect(fake.status).toBe(400)
    expect(fake.form!.result.error!.photo).toEqual(['The photo must be a JPEG, PNG or WebP image'])

    const big = new Uint8Array(5 * 1024 * 1024 + 1)
    big.set(PNG)
    const tooLarge = await submitNew(validFields({ photoAlt: 'A photo' }), { bytes: big, name: 'big.png', type: 'image/png' })
    expect(tooLarge.status).toBe(400)
    expect(tooLarge.form!.result.error!.photo).toEqual(['The photo must be 5 MB or smaller'])
    // The fields after the photo were still read.
    expect(tooLarge.form!.result.initialValue).toMatchObject({ photoAlt: 'A photo' })
    expect([await appealCount(), await photoIds()]).toEqual(before)
  })

  test('a photo larger than a page shows is scaled to 1,600 pixels on its long edge, upright, in its own format, without metadata', async () => {
    // A phone's portrait shot: 2400×1200 pixels stored sideways, EXIF saying "turn clockwise" and where it was taken.
    const sideways = await sharp({ create: { width: 2400, height: 1200, channels: 3, background: '#b04a2f' } }).jpeg({ quality: 95 }).toBuffer()
    const phone = Buffer.concat([sideways.subarray(0, 2), exifFromAPhone('II', 6), sideways.subarray(2)])
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: new Uint8Array(phone), name: 'PXL_0003.jpg', type: 'image/jpeg' }))
    const { photo_id, photo_path } = await appealRow(id)
    const stored = await storedPhoto(photo_path)
    const seen = await sharp(stored).metadata()
    expect(seen).toMatchObject({ format: 'jpeg', width: 800, height: 1600 })
    expect([seen.exif, seen.icc, seen.xmp, seen.orientation]).toEqual([undefined, undefined, undefined, undefined])
    expect(stored.toString('latin1')).not.toMatch(/Exif|safe house/)
    expect(stored.length).toBeLessThan(phone.length)
    expect(await db.selectFrom('appeal_photos').select(['width', 'height']).where('id', '=', photo_id!).executeTakeFirstOrThrow()).toEqual({ width: 800, height: 1600 })

    for (const [format, width, height, fitted] of [
      ['png', 3000, 1000, [1600, 533]],
      ['webp', 1000, 3000, [533, 1600]],
    ] as const) {
      const large = await sharp({ create: { width, height, channels: 3, background: '#2f6fb0' } })[format]().toBuffer()
      const { photo, error } = await checkPhoto({ kind: 'file', bytes: new Uint8Array(large) })
      expect(error).toBeNull()
      expect(photo!.type.extension).toBe(format)
      expect(await sharp(Buffer.from(photo!.bytes)).metadata()).toMatchObject({ format, width: fitted[0], height: fitted[1] })
    }
  })

  test('colours are converted to sRGB (a Display P3 or CMYK photo), and no photo is stored larger than it needs to be', async () => {
    // A P3 file whose numbers, read without the profile, are not the colour it shows.
    const colour = { r: 200, g: 60, b: 40 }
    const p3 = await sharp({ create: { width: 16, height: 16, channels: 3, background: colour } }).withIccProfile('p3').png().toBuffer()
    const [asNumbers] = [await sharp(p3, { ignoreIcc: true }).raw().toBuffer()]
    expect(Math.abs(asNumbers![0]! - colour.r)).toBeGreaterThan(5)
    const cmyk = await sharp({ create: { width: 16, height: 16, channels: 3, background: colour } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer()
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk')
    for (const bytes of [p3, cmyk]) {
      const { photo } = await checkPhoto({ kind: 'file', bytes: new Uint8Array(bytes) })
      const stored = Buffer.from(photo!.bytes)
      await expectNoMetadata(stored)
      const seen = await sharp(stored).metadata()
      expect([seen.space, seen.channels]).toEqual(['srgb', 3])
      const [r, g, b] = await sharp(stored).raw().toBuffer()
      // Without a profile a browser shows these numbers as sRGB: they must be the colour itself.
      expect(Math.abs(r! - colour.r) + Math.abs(g! - colour.g) + Math.abs(b! - colour.b)).toBeLessThan(24)
    }

    // A phone JPEG at a high quality, a palette PNG over 1,600 pixels, and a small screenshot-like
    // PNG: none grows (the palette PNG would, scaled, so it keeps its own size).
    const side = 1_700
    const stripes = Buffer.alloc(side * side * 3)
    for (let at = 0; at < stripes.length; at += 3) stripes.fill((Math.floor(at / 3 / 97) % 8) * 32, at, at + 3)
    const palette = await sharp(stripes, { raw: { width: side, height: side, channels: 3 } }).png({ palette: true, colours: 8 }).toBuffer()
    const texture = Buffer.alloc(800 * 600 * 3)
    for (let at = 0; at < texture.length; at += 1) texture[at] = (at * 7919) % 251
    const phoneJpeg = await sharp(texture, { raw: { width: 800, height: 600, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
    const gradient = Buffer.alloc(240 * 160 * 3)
    for (let at = 0; at < gradient.length; at += 3) gradient.set([(at / 3) % 240, Math.floor(at / 3 / 240), 128], at)
    const smallPng = await sharp(gradient, { raw: { width: 240, height: 160, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer()
    for (const bytes of [palette, phoneJpeg, smallPng]) {
      const { photo, error } = await checkPhoto({ kind: 'file', bytes: new Uint8Array(bytes) })
      expect(error).toBeNull()
      expect(photo!.bytes.byteLength).toBeLessThanOrEqual(bytes.length)
    }
    const storedPalette = (await checkPhoto({ kind: 'file', bytes: new Uint8Array(palette) })).photo!
    expect(await sharp(Buffer.from(storedPalette.bytes)).metadata()).toMatchObject({ format: 'png', width: side, height: side, isPalette: true })
    expect(await pixelDifference(Buffer.from(storedPalette.bytes), palette)).toBe(0)
  })

  test('a small file that declares more pixels than any camera takes is refused before it is decoded, and nothing is written', async () => {
    // 60 million pixels of one colour compress to a small PNG; decoded, they would take 180 MB.
    const bomb = await sharp({ create: { width: 10_000, height: 6_000, channels: 3, background: '#ffffff' } }).png({ compressionLevel: 9 }).toBuffer()
    expect(bomb.length).toBeLessThan(PHOTO_MAX_BYTES)
    const before = [await appealCount(), await photoIds()]
    const answer = await submitNew(validFields({ photoAlt: 'A photo' }), { bytes: new Uint8Array(bomb), name: 'photo.png', type: 'image/png' })
    expect(answer.status).toBe(400)
    expect(answer.form!.result.error!.photo).toEqual(['The photo has too many pixels: 50 million at most. Save a smaller copy and choose that'])
    expect([await appealCount(), await photoIds()]).toEqual(before)
  })

  test('a photo needs a description; removing the photo clears both', async () => {
    const missing = await submitNew(validFields(), { bytes: PNG, name: 'p.png', type: 'image/png' })
    expect(missing.status).toBe(400)
    expect(missing.form!.result.error!.photoAlt![0]).toMatch(/Describe the photo/)

    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG, name: 'p.png', type: 'image/png' }))
    const keepWithoutAlt = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug }))
    expect(keepWithoutAlt.status).toBe(400)
    expect(keepWithoutAlt.form!.result.error!.photoAlt).toBeTruthy()
    const { photo_path } = await appealRow(id)
    const removed = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, removePhoto: 'on' }))
    expect(removed.status).toBe(303)
    expect(await appealRow(id)).toMatchObject({ photo_path: null, photo_id: null, photo_alt: null })
    expect(await photoRowExists(photo_path)).toBe(false)
    expect((await serve(fileOf(photo_path))).status).toBe(404)
  })

  test('replacing a photo deletes the old one in the same transaction, and the old address answers 404', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG, name: 'old.png', type: 'image/png' }))
    const old = (await appealRow(id)).photo_path!
    expect((await serve(fileOf(old))).status).toBe(200)

    // A refused edit keeps the old photo and leaves no new row behind.
    const photosBefore = await photoIds()
    const refused = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: '', title: '' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
    expect(refused.status).toBe(400)
    expect(await photoIds()).toEqual(photosBefore)

    const replaced = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: 'Amal, later' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
    expect(replaced.status).toBe(303)
    const current = (await appealRow(id)).photo_path!
    expect(current).not.toBe(old)
    expect(await photoRowExists(current)).toBe(true)
    expect(await photoRowExists(old)).toBe(false)
    expect(await photoIds()).toHaveLength(photosBefore.length)
    expect((await serve(fileOf(old))).status).toBe(404)
    expect((await serve(fileOf(current))).status).toBe(200)

    // Saving again without choosing a file keeps the photo and its row.
    expect((await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: 'Amal, later', title: 'Renamed' }))).status).toBe(303)
    expect((await appealRow(id)).photo_path).toBe(current)
    expect(await photoRowExists(current)).toBe(true)
  })

  test('a slug taken by another request mid-save is a field error and leaves no new photo row, on create and on edit', async () => {
    const slug = `race-${randomUUID().slice(0, 8)}`
    const photosBefore = await photoIds()
    await withFasterRequestFor(slug, async () => {
      const answer = await submitNew(validFields({ slug, photoAlt: 'Amal' }), { bytes: PNG, name: 'p.png', type: 'image/png' })
      expect(answer.status).toBe(400)
      expect(answer.form!.result.error!.slug![0]).toMatch(/Another appeal already uses/)
    })
    expect(await photoIds()).toEqual(photosBefore)
    expect(await db.selectFrom('appeals').select('id').where('slug', '=', slug).execute()).toHaveLength(0)

    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG, name: 'p.png', type: 'image/png' }))
    const before = await appealRow(id)
    const withPhoto = await photoIds()
    await withFasterRequestFor(slug, async () => {
      const edit = await submitEdit(id, validFields({ slug, photoAlt: 'Amal' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
      expect(edit.status).toBe(400)
      expect(edit.form!.result.error!.slug![0]).toMatch(/Another appeal already uses/)
    })
    expect(await photoIds()).toEqual(withPhoto)
    // The photo the appeal still uses is kept and served.
    expect(await appealRow(id)).toMatchObject({ slug: before.slug, photo_path: before.photo_path, photo_id: before.photo_id })
    expect((await serve(fileOf(before.photo_path))).status).toBe(200)
  })
})

describe('preview', () => {
  test('renders the story as sanitised HTML beside the form, keeps the values and writes nothing', async () => {
    const before = [await appealCount(), await auditCount()]
    const story = 'Hello **there**\n\n<script>alert("x")</script>\n\n[click](javascript:alert(1))'
    const answer = await submitNew(validFields({ intent: 'preview', storyMarkdown: story, title: '' }))
    expect(answer.status).toBe(200)
    const html = answer.form!.previewHtml!
    expect(html).toContain('<strong>there</strong>')
    expect(html).not.toContain('<script')
    expect(html).toContain('&lt;script&gt;')
    // markdown-it drops the unsafe link: what is left is its text, not a link.
    expect(html).not.toMatch(/href="javascript:/i)
    // Multipart sends line breaks as CRLF, as browsers do for every textarea.
    expect(answer.form!.result.initialValue).toMatchObject({ storyMarkdown: story.replaceAll('\n', '\r\n') })
    expect(answer.form!.result.error).toBeUndefined()
    expect([await appealCount(), await auditCount()]).toEqual(before)
  })
})

describe('publishing and closing', () => {
  test('publish opens the public page, close ends the form, reopen opens it again; each writes an audit row', async () => {
    const id = await createdId(await submitNew(validFields()))
    const { slug } = await appealRow(id)
    expect((await publicPage(slug)).status).toBe(404)

    expect((await statusChange(id, 'publish')).status).toBe(303)
    let row = await appealRow(id)
    expect(row.status).toBe('published')
    expect(row.published_at).toBeInstanceOf(Date)
    let page = await publicPage(slug)
    expect(page.status).toBe(200)
    expect((page.body as { state: string }).state).toBe('open')

    expect((await statusChange(id, 'close')).status).toBe(303)
    row = await appealRow(id)
    expect(row.status).toBe('closed')
    expect(row.closed_at).toBeInstanceOf(Date)
    page = await publicPage(slug)
    expect((page.body as { state: string }).state).toBe('closed')

    // Closing twice is refused with a message, not an error page.
    const again = await statusChange(id, 'close')
    expect(again.status).toBe(400)

    expect((await statusChange(id, 'reopen')).status).toBe(303)
    expect((await appealRow(id)).closed_at).toBeNull()
    expect(((await publicPage(slug)).body as { state: string }).state).toBe('open')

    const actions = await db.selectFrom('audit_log').select('action').where('subject_id', '=', id).orderBy('id').execute()
    expect(actions.map((entry) => entry.action)).toEqual(['appeal.create', 'appeal.publish', 'appeal.close', 'appeal.reopen'])
  })

  test('an appeal whose closing date has passed cannot be reopened', async () => {
    const id = await createdId(await submitNew(validFields()))
    await statusChange(id, 'publish')
    await statusChange(id, 'close')
    await db.updateTable('appeals').set({ closes_at: new Date(Date.now() - 60_000) }).where('id', '=', id).execute()
    const answer = await statusChange(id, 'reopen')
    expect(answer.status).toBe(400)
    expect((answer.body as { error: string }).error).toMatch(/closing date has passed/)
    expect((await appealRow(id)).status).toBe('closed')
  })

  test('an edit is saved with an audit row; the currency is fixed once there is a donation', async () => {
    const id = await createdId(await submitNew(validFields()))
    const { slug } = await appealRow(id)
    expect((await submitEdit(id, validFields({ slug, title: 'A new title', currency: 'EUR' }))).status).toBe(303)
    expect(await appealRow(id)).toMatchObject({ title: 'A new title', currency: 'EUR' })
    const edit = await db.selectFrom('audit_log').select('details').where('action', '=', 'appeal.edit').where('subject_id', '=', id).executeTakeFirstOrThrow()
    expect(edit.details).toMatchObject({ changed: expect.arrayContaining(['title', 'currency']) })

    await createPendingDonation({ appealId: id, amountMinor: 1_000, currency: 'EUR' })
    const locked = await submitEdit(id, validFields({ slug, currency: 'GBP' }))
    expect(locked.status).toBe(400)
    expect(locked.form!.result.error!.currency![0]).toMatch(/cannot change/)
    expect((await appealRow(id)).currency).toBe('EUR')
  })
})

describe('updates', () => {
  async function donor(appealId: string, options: { optIn: boolean; status: 'confirmed' | 'pending'; email?: string }) {
    const gift = await createPendingDonation({ appealId, amountMinor: 2_500, email: options.email })
    await db
      .updateTable('donations')
      .set({ status: options.status, updates_opt_in: options.optIn, confirmed_at: options.status === 'confirmed' ? new Date() : null })
      .where('id', '=', gift.donationId)
      .execute()
    return gift
  }

  async function updateEmails(updateId: string) {
    return db
      .selectFrom('email_outbox')
      .select(['to_address', 'idempotency_key', 'props'])
      .where('template', '=', 'appeal-update')
      .where('idempotency_key', 'like', `appeal-update:${updateId}:%`)
      .execute()
  }

  async function post(appealId: string, fields: Fields) {
    return settle(() => updatesAction(args(postRequest(`/staff/appeals/${appealId}/updates`, fields, { cookie }), { id: appealId })))
  }

  async function latestUpdateId(appealId: string) {
    return (await db.selectFrom('appeal_updates').select('id').where('appeal_id', '=', appealId).orderBy('created_at', 'desc').executeTakeFirstOrThrow()).id
  }

  test('an emailed update goes once to each opted-in supporter with a confirmed gift, however often the job runs', async () => {
    const appeal = await createAppealRow()
    const tag = randomUUID().slice(0, 8)
    const opted = await donor(appeal.id, { optIn: true, status: 'confirmed', email: `opted-${tag}@example.org` })
    // The same supporter gave twice, both times asking for news: still one email.
    await donor(appeal.id, { optIn: true, status: 'confirmed', email: `Twice-${tag}@Example.org` })
    await donor(appeal.id, { optIn: true, status: 'confirmed', email: `twice-${tag}@example.org` })
    await donor(appeal.id, { optIn: false, status: 'confirmed', email: `silent-${tag}@example.org` })
    await donor(appeal.id, { optIn: true, status: 'pending', email: `pending-${tag}@example.org` })
    await donor(appeal.id, { optIn: true, status: 'confirmed', email: `bounced-${tag}@example.org` })
    await db.insertInto('email_suppressions').values({ email: `bounced-${tag}@example.org`, reason: 'bounced' }).execute()
    // A supporter of another appeal hears nothing of this one.
    const other = await createAppealRow()
    await donor(other.id, { optIn: true, status: 'confirmed', email: `other-${tag}@example.org` })

    const bad = await post(appeal.id, { title: '', bodyMarkdown: '' })
    expect(bad.status).toBe(400)
    expect(await db.selectFrom('appeal_updates').select('id').where('appeal_id', '=', appeal.id).execute()).toHaveLength(0)

    const answer = await post(appeal.id, { title: 'Surgery went well', bodyMarkdown: 'Amal is **home**.\n\n- She can read\n- She can walk', email: 'on' })
    expect(answer.status).toBe(303)
    const updateId = await latestUpdateId(appeal.id)
    // The request only queues the job; nothing is emailed until it runs.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`email_appeal_update:${updateId}`}`.execute(db)
    expect(rows[0]!.n).toBe(1)
    expect(await updateEmails(updateId)).toHaveLength(0)

    expect(await emailAppealUpdate(db, updateId)).toEqual({ enqueued: 2 })
    expect(await emailAppealUpdate(db, updateId)).toEqual({ enqueued: 0 })
    const emails = (await updateEmails(updateId)).sort((a, b) => a.to_address.toLowerCase().localeCompare(b.to_address.toLowerCase()))
    expect(emails.map((email) => email.to_address.toLowerCase())).toEqual([`opted-${tag}@example.org`, `twice-${tag}@example.org`])
    expect(emails[0]!.idempotency_key).toBe(`appeal-update:${updateId}:${opted.supporterId}`)
    expect(emails[0]!.props).toMatchObject({
      updateTitle: 'Surgery went well',
      updateBody: 'Amal is home.\n\n- She can read\n- She can walk',
      appealTitle: 'Test appeal',
    })
    expect((await db.selectFrom('appeal_updates').select('emailed_at').where('id', '=', updateId).executeTakeFirstOrThrow()).emailed_at).toBeInstanceOf(Date)
    const audit = await db.selectFrom('audit_log').select('details').where('action', '=', 'appeal.update.post').where('subject_id', '=', appeal.id).execute()
    expect(audit).toHaveLength(1)

    // The "stop these updates" link in the email works, and only with its signature.
    const unsubscribe = new URL(String((emails[0]!.props as { unsubscribeUrl: string }).unsubscribeUrl))
    const fields = Object.fromEntries(unsubscribe.searchParams)
    expect((await settle(() => stopLoader(args(getRequest(`/updates/stop${unsubscribe.search}`))))).status).toBe(200)
    const forged = await settle(() => stopAction(args(postRequest('/updates/stop', { ...fields, signature: `${fields.signature!.slice(0, -2)}xx` }))))
    expect(forged.status).toBe(404)
    expect((await settle(() => stopAction(args(postRequest('/updates/stop', fields))))).status).toBe(200)

    await post(appeal.id, { title: 'Second news', bodyMarkdown: 'More news.', email: 'on' })
    const second = await latestUpdateId(appeal.id)
    await emailAppealUpdate(db, second)
    expect((await updateEmails(second)).map((email) => email.to_address.toLowerCase())).toEqual([`twice-${tag}@example.org`])
  })

  test('an update posted without the box ticked is not emailed', async () => {
    const appeal = await createAppealRow()
    await donor(appeal.id, { optIn: true, status: 'confirmed' })
    expect((await post(appeal.id, { title: 'Quiet news', bodyMarkdown: 'Only on the page.' })).status).toBe(303)
    const updateId = await latestUpdateId(appeal.id)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`email_appeal_update:${updateId}`}`.execute(db)
    expect(rows[0]!.n).toBe(0)
    const page = await settle(() => updatesLoader(args(getRequest(`/staff/appeals/${appeal.id}/updates`, { cookie }), { id: appeal.id })))
    expect((page.body as Awaited<ReturnType<typeof updatesLoader>>).updates).toMatchObject([{ title: 'Quiet news', emailedOn: null }])
  })
})

describe('roles', () => {
  test('a viewer gets 403 on every appeals page and action, and nothing changes', async () => {
    const viewer = await createStaff('viewer')
    const viewerCookie = await sessionCookieFor(viewer.id)
    const appeal = await createAppealRow()
    const id = appeal.id
    const before = await auditCount()
    const runs = [
      () => listLoader(args(getRequest('/staff/appeals', { cookie: viewerCookie }))),
      () => newLoader(args(getRequest('/staff/appeals/new', { cookie: viewerCookie }))),
      () => newAction(args(multipart('/staff/appeals/new', validFields(), undefined, viewerCookie))),
      () => editLoader(args(getRequest(`/staff/appeals/${id}`, { cookie: viewerCookie }), { id })),
      () => editAction(args(postRequest(`/staff/appeals/${id}`, { intent: 'close' }, { cookie: viewerCookie }), { id })),
      () => updatesLoader(args(getRequest(`/staff/appeals/${id}/updates`, { cookie: viewerCookie }), { id })),
      () => updatesAction(args(postRequest(`/staff/appeals/${id}/updates`, { title: 'x', bodyMarkdown: 'y' }, { cookie: viewerCookie }), { id })),
    ]
    for (const run of runs) expect((await settle(run)).status).toBe(403)
    expect((await appealRow(id)).status).toBe('published')
    expect(await auditCount()).toBe(before)
  })
})
