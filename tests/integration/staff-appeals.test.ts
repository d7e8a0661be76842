import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { detectImageType, emailAppealUpdate, withoutMetadata } from '#app/modules/appeals/manage.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { loader as publicAppealLoader } from '#app/routes/appeals.$slug.tsx'
import { action as editAction, loader as editLoader } from '#app/routes/staff.appeals.$id.tsx'
import { action as updatesAction, loader as updatesLoader } from '#app/routes/staff.appeals.$id_.updates.tsx'
import { loader as listLoader } from '#app/routes/staff.appeals._index.tsx'
import { action as newAction, loader as newLoader } from '#app/routes/staff.appeals.new.tsx'
import { action as stopAction, loader as stopLoader } from '#app/routes/updates.stop.tsx'
import { loader as uploadLoader } from '#app/routes/uploads.$file.ts'
import { createAppeal as createAppealRow, createPendingDonation } from './donation-fixtures.ts'
import { createStaff, getRequest, ORIGIN, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
const args = (request: Request, params: Record<string, string> = {}) => ({ request, params, context: {} })
const uploadsDir = mkdtempSync(path.join(tmpdir(), 'sanad-uploads-'))

let cookie: string

beforeAll(async () => {
  process.env.UPLOADS_DIR = uploadsDir
  resetEnvForTests()
  const staff = await createStaff('staff')
  cookie = await sessionCookieFor(staff.id)
})

afterAll(() => rmSync(uploadsDir, { recursive: true, force: true }))

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

const storedFile = (photoPath: string | null) => path.join(uploadsDir, photoPath!.slice('/uploads/'.length))
const serve = (file: string) => settle(() => uploadLoader(args(getRequest(`/uploads/${file}`), { file })))

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
    const [appealsBefore, auditBefore, filesBefore] = [await appealCount(), await auditCount(), readdirSync(uploadsDir).length]
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
    expect(readdirSync(uploadsDir)).toHaveLength(filesBefore)
  })

  test('an amount that does not fit the currency is a field error on the goal and the suggestions', async () => {
    const answer = await submitNew(validFields({ currency: 'JPY', goal: '1,500.50', suggestedAmounts: '1000, 2.5' }))
    expect(answer.status).toBe(400)
    expect(answer.form!.result.error!.goal![0]).toMatch(/amount in JPY, like 150,000/)
    expect(answer.form!.result.error!.suggestedAmounts![0]).toMatch(/“2.5” is not an amount in JPY/)
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
  test('a PNG (by its bytes) is stored under a random name and served with its type, nosniff and a day\'s cache', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal in her garden' }), { bytes: PNG, name: 'holiday.jpg', type: 'image/jpeg' }))
    const row = await appealRow(id)
    expect(row.photo_path).toMatch(/^\/uploads\/[0-9a-f]{32}\.png$/)
    expect(row.photo_alt).toBe('Amal in her garden')
    const file = row.photo_path!.slice('/uploads/'.length)
    expect(readFileSync(path.join(uploadsDir, file))).toEqual(Buffer.from(PNG))

    const served = (await uploadLoader(args(getRequest(row.photo_path!), { file }))) as Response
    expect(served.status).toBe(200)
    expect(served.headers.get('Content-Type')).toBe('image/png')
    expect(served.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(served.headers.get('Cache-Control')).toBe('public, max-age=86400')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG)

    // A file on disk that no appeal uses is not served, whatever its name.
    const stray = `${'0'.repeat(32)}.png`
    writeFileSync(path.join(uploadsDir, stray), PNG)
    for (const name of ['../package.json', `${file.slice(0, -4)}.svg`, stray]) expect((await serve(name)).status).toBe(404)
    rmSync(path.join(uploadsDir, stray))
  })

  test('a JPEG is stored without its EXIF, C2PA, comment and what follows the image, the scan untouched', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: JPEG_FROM_A_PHONE, name: 'PXL_0001.MP.jpg', type: 'image/jpeg' }))
    const { photo_path } = await appealRow(id)
    expect(photo_path).toMatch(/\.jpg$/)
    const stored = readFileSync(storedFile(photo_path))
    expect(stored.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]))
    expect(stored.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]))
    for (const gone of ['Exif', 'GPS', 'c2pa', 'safe house', 'ftyp']) expect(stored.toString('latin1')).not.toContain(gone)
    expect(stored.includes(APPENDED)).toBe(false)
    // The scan (its header, the compressed data and the end marker) is there byte for byte, and so is everything else of the image.
    expect(stored.includes(JPEG.subarray(JPEG.indexOf(SOS)))).toBe(true)
    expect(stored).toEqual(JPEG)
  })

  test('a progressive JPEG keeps every scan; a second image\'s metadata, a thumbnail and MPF go; a cut-off JPEG is refused', () => {
    const type = detectImageType(PROGRESSIVE_JPEG)!
    const scans = (bytes: Buffer) => bytes.toString('latin1').split('\xff\xda').length - 1
    expect(scans(PROGRESSIVE_JPEG)).toBe(6)
    const thirdScan = PROGRESSIVE_JPEG.indexOf(SOS, PROGRESSIVE_JPEG.indexOf(SOS, PROGRESSIVE_JPEG.indexOf(SOS) + 2) + 2)
    const secondImage = Buffer.concat([Buffer.from([0xff, 0xd8]), segment(0xe1, 'Exif\0\0second image GPS'), JPEG.subarray(2)])
    const thumbnail = '6×1 thumbnail, RGB'
    const icc = segment(0xe2, 'ICC_PROFILE\0\x01\x01colour profile')
    const dirty = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      // JFIF with a 6×1 thumbnail (which may show the picture before it was cropped): the header stays, the thumbnail goes.
      segment(0xe0, `JFIF\0\x01\x01\0\0\x01\0\x01\x06\x01${thumbnail}`),
      icc,
      segment(0xe2, 'MPF\0multi-picture index'),
      PROGRESSIVE_JPEG.subarray(2 + JFIF_LENGTH, thirdScan),
      // An APPn between scans goes too.
      segment(0xe1, 'Exif\0\0between scans'),
      PROGRESSIVE_JPEG.subarray(thirdScan),
      secondImage,
    ])
    const cleaned = Buffer.from(withoutMetadata(new Uint8Array(dirty), type)!)
    expect(cleaned.toString('latin1')).not.toMatch(/Exif|MPF|GPS|between scans/)
    expect(cleaned.toString('latin1')).not.toContain(thumbnail)
    expect(scans(cleaned)).toBe(6)
    expect(cleaned).toEqual(Buffer.concat([PROGRESSIVE_JPEG.subarray(0, 2 + JFIF_LENGTH), icc, PROGRESSIVE_JPEG.subarray(2 + JFIF_LENGTH)]))

    // No end marker, or a marker we cannot vouch for before the image: refused, never stored as it came.
    expect(withoutMetadata(new Uint8Array(JPEG.subarray(0, -2)), type)).toBeNull()
    expect(withoutMetadata(new Uint8Array(Buffer.concat([JPEG.subarray(0, 2), segment(0xf7, 'JPEG-LS'), JPEG.subarray(2)])), type)).toBeNull()
  })

  test('a PNG loses its text chunks and anything after IEND; a PNG whose chunks cannot be followed is refused', async () => {
    const chunk = (name: string, text: string) => {
      const data = Buffer.from(text, 'latin1')
      const length = Buffer.alloc(4)
      length.writeUInt32BE(data.length, 0)
      return Buffer.concat([length, Buffer.from(name, 'latin1'), data, Buffer.from([1, 2, 3, 4])])
    }
    const afterEnd = chunk('eXIf', 'GPS 31.6N 65.7E')
    const withText = Buffer.concat([Buffer.from(PNG.subarray(0, 33)), chunk('tEXt', 'Location\0Kandahar!'), chunk('caBX', 'c2pa'), Buffer.from(PNG.subarray(33)), afterEnd])
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: new Uint8Array(withText), name: 'p.png', type: 'image/png' }))
    const stored = readFileSync(storedFile((await appealRow(id)).photo_path))
    expect(stored.toString('latin1')).not.toMatch(/Kandahar|c2pa|GPS/)
    expect(stored.includes(afterEnd)).toBe(false)
    expect(stored).toEqual(Buffer.from(PNG))

    const truncated = await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG.subarray(0, 40), name: 'p.png', type: 'image/png' })
    expect(truncated.status).toBe(400)
    expect(truncated.form!.result.error!.photo![0]).toMatch(/could not be read/)
  })

  test('a WebP loses its EXIF, XMP and unknown chunks (in animation frames too) and what follows it; its header stops announcing them', () => {
    const chunk = (name: string, data: Buffer) => {
      const size = Buffer.alloc(4)
      size.writeUInt32LE(data.length, 0)
      return Buffer.concat([Buffer.from(name, 'latin1'), size, data, data.length % 2 ? Buffer.from([0]) : Buffer.alloc(0)])
    }
    const vp8x = chunk('VP8X', Buffer.from([0x0c | 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
    const pixels = chunk('VP8L', Buffer.from('lossless pixels', 'latin1'))
    const unknown = chunk('C2PA', Buffer.from('provenance', 'latin1'))
    const frameHeader = Buffer.alloc(16)
    const framePixels = chunk('VP8L', Buffer.from('frame pixels', 'latin1'))
    const frame = chunk('ANMF', Buffer.concat([frameHeader, framePixels, chunk('XMP ', Buffer.from('frame GPS', 'latin1'))]))
    const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, chunk('EXIF', Buffer.from('GPS here', 'latin1')), pixels, unknown, frame, chunk('XMP ', Buffer.from('<x:xmpmeta/>', 'latin1'))])
    const size = Buffer.alloc(4)
    size.writeUInt32LE(body.length, 0)
    // Bytes after the RIFF's own size are not part of the image.
    const webp = new Uint8Array(Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body, chunk('EXIF', Buffer.from('appended GPS', 'latin1'))]))
    const type = detectImageType(webp)!
    expect(type.contentType).toBe('image/webp')
    const cleaned = Buffer.from(withoutMetadata(webp, type)!)
    expect(cleaned.toString('latin1')).not.toMatch(/GPS|xmpmeta|provenance/)
    expect(cleaned.readUInt32LE(4)).toBe(cleaned.length - 8)
    expect(cleaned[20]).toBe(0x10)
    const cleanFrame = chunk('ANMF', Buffer.concat([frameHeader, framePixels]))
    expect(cleaned.subarray(12)).toEqual(Buffer.concat([vp8x.subarray(0, 8), Buffer.from([0x10]), vp8x.subarray(9), pixels, cleanFrame]))
  })

  test('a text file named .png, or a photo over 5 MB, is refused beside the field and nothing is written', async () => {
    const before = [await appealCount(), readdirSync(uploadsDir).length]
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
    expect([await appealCount(), readdirSync(uploadsDir).length]).toEqual(before)
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
    expect(await appealRow(id)).toMatchObject({ photo_path: null, photo_alt: null })
    expect(existsSync(storedFile(photo_path))).toBe(false)
    expect((await serve(photo_path!.slice('/uploads/'.length))).status).toBe(404)
  })

  test('replacing a photo deletes the old file once saved, and the old address answers 404', async () => {
    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG, name: 'old.png', type: 'image/png' }))
    const old = (await appealRow(id)).photo_path!
    const oldFile = old.slice('/uploads/'.length)
    expect((await serve(oldFile)).status).toBe(200)

    // A refused edit keeps the old photo and leaves no new file behind.
    const filesBefore = readdirSync(uploadsDir).sort()
    const refused = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: '', title: '' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
    expect(refused.status).toBe(400)
    expect(readdirSync(uploadsDir).sort()).toEqual(filesBefore)

    const replaced = await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: 'Amal, later' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
    expect(replaced.status).toBe(303)
    const current = (await appealRow(id)).photo_path!
    expect(current).not.toBe(old)
    expect(existsSync(storedFile(current))).toBe(true)
    expect(existsSync(storedFile(old))).toBe(false)
    expect(readdirSync(uploadsDir)).toHaveLength(filesBefore.length)
    expect((await serve(oldFile)).status).toBe(404)
    expect((await serve(current.slice('/uploads/'.length))).status).toBe(200)

    // Saving again without choosing a file keeps the photo and its file.
    expect((await submitEdit(id, validFields({ slug: (await appealRow(id)).slug, photoAlt: 'Amal, later', title: 'Renamed' }))).status).toBe(303)
    expect((await appealRow(id)).photo_path).toBe(current)
    expect(existsSync(storedFile(current))).toBe(true)
  })

  test('a slug taken by another request mid-save is a field error and leaves no new file on disk, on create and on edit', async () => {
    const slug = `race-${randomUUID().slice(0, 8)}`
    const filesBefore = readdirSync(uploadsDir).sort()
    await withFasterRequestFor(slug, async () => {
      const answer = await submitNew(validFields({ slug, photoAlt: 'Amal' }), { bytes: PNG, name: 'p.png', type: 'image/png' })
      expect(answer.status).toBe(400)
      expect(answer.form!.result.error!.slug![0]).toMatch(/Another appeal already uses/)
    })
    expect(readdirSync(uploadsDir).sort()).toEqual(filesBefore)
    expect(await db.selectFrom('appeals').select('id').where('slug', '=', slug).execute()).toHaveLength(0)

    const id = await createdId(await submitNew(validFields({ photoAlt: 'Amal' }), { bytes: PNG, name: 'p.png', type: 'image/png' }))
    const before = await appealRow(id)
    const withPhoto = readdirSync(uploadsDir).sort()
    await withFasterRequestFor(slug, async () => {
      const edit = await submitEdit(id, validFields({ slug, photoAlt: 'Amal' }), { bytes: JPEG_FROM_A_PHONE, name: 'new.jpg', type: 'image/jpeg' })
      expect(edit.status).toBe(400)
      expect(edit.form!.result.error!.slug![0]).toMatch(/Another appeal already uses/)
    })
    expect(readdirSync(uploadsDir).sort()).toEqual(withPhoto)
    // The photo the appeal still uses is kept and served.
    expect(await appealRow(id)).toMatchObject({ slug: before.slug, photo_path: before.photo_path })
    expect((await serve(before.photo_path!.slice('/uploads/'.length))).status).toBe(200)
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
