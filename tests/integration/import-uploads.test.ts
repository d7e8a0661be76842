import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { importUploads } from '#app/modules/appeals/photos/import-uploads.server.ts'
import { loader as uploadLoader } from '#app/routes/uploads.$file.ts'
import { loader as photoLoader } from '#app/routes/photos.$file.ts'
import { createAppeal } from './donation-fixtures.ts'
import { getRequest } from './staff-fixtures.ts'

const db = getDb()
const folder = mkdtempSync(path.join(tmpdir(), 'sanad-uploads-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

const args = (request: Request, params: Record<string, string>) => ({ request, params, context: {} })
const newName = (extension: string) => `${randomBytes(16).toString('hex')}.${extension}`

/** A JPEG as the old code stored it: stripped by our parser, but still carrying an EXIF Orientation (6: turn clockwise). */
async function oldStoredJpeg() {
  const exif = await sharp({ create: { width: 60, height: 30, channels: 3, background: '#b04a2f' } }).withExif({ IFD0: { Make: 'Pixel at the safe house' } }).withMetadata({ orientation: 6 }).jpeg().toBuffer()
  expect((await sharp(exif).metadata()).orientation).toBe(6)
  return exif
}

async function appealWithPhoto(photoPath: string) {
  const appeal = await createAppeal()
  await db.updateTable('appeals').set({ photo_path: photoPath, photo_alt: 'Amal' }).where('id', '=', appeal.id).execute()
  return appeal.id
}

const appealPhoto = (id: string) => db.selectFrom('appeals').select(['photo_path', 'photo_id']).where('id', '=', id).executeTakeFirstOrThrow()

describe('npm run photos:import', () => {
  test('moves each file an appeal points at into the table, re-encoded, once; the old address keeps answering while an appeal uses it', async () => {
    const withOrientation = await oldStoredJpeg()
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#2f6fb0' } }).png().toBuffer()
    const [jpegName, pngName, strayName, missingName, textName] = [newName('jpg'), newName('png'), newName('png'), newName('jpg'), newName('png')]
    writeFileSync(path.join(folder, jpegName), withOrientation)
    writeFileSync(path.join(folder, pngName), png)
    writeFileSync(path.join(folder, strayName), png)
    writeFileSync(path.join(folder, textName), 'not a photo')
    // Two appeals sharing one file (a copied row), one with its own, one whose file is gone, one with text, and a demo SVG.
    const [first, second, third, gone, text] = [
      await appealWithPhoto(`/uploads/${jpegName}`),
      await appealWithPhoto(`/uploads/${jpegName}`),
      await appealWithPhoto(`/uploads/${pngName}`),
      await appealWithPhoto(`/uploads/${missingName}`),
      await appealWithPhoto(`/uploads/${textName}`),
    ]
    const demo = await appealWithPhoto('/images/appeals/walk-again.svg')
    const outside = await appealWithPhoto('/uploads/../../package.json')

    const report = await importUploads(db, folder)
    expect(report.imported.sort()).toEqual([jpegName, pngName].sort())
    expect(report.missing).toEqual([missingName])
    expect(report.refused).toEqual(
      expect.arrayContaining([
        { name: textName, reason: 'The photo must be a JPEG, PNG or WebP image' },
        { name: '../../package.json', reason: 'not a name Sanad gave an upload' },
      ]),
    )

    const [a, b, c] = await Promise.all([first, second, third].map(appealPhoto))
    expect(a!.photo_path).toMatch(/^\/photos\/[0-9a-f-]{36}\.[0-9a-f]{64}\.jpg$/)
    expect(b).toEqual(a)
    expect(c!.photo_path).toMatch(/\.png$/)
    const row = await db.selectFrom('appeal_photos').selectAll().where('id', '=', a!.photo_id!).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ legacy_name: jpegName, content_type: 'image/jpeg', width: 30, height: 60 })
    // The Orientation is applied to the pixels and the EXIF goes, as for a new upload.
    const seen = await sharp(Buffer.from(row.bytes)).metadata()
    expect([seen.exif, seen.orientation, seen.width, seen.height]).toEqual([undefined, undefined, 30, 60])
    expect(Buffer.from(row.bytes).toString('latin1')).not.toContain('safe house')
    // Moved: the imported files are gone; the one no appeal used, and those not imported, stay.
    expect([jpegName, pngName, strayName, textName].map((name) => existsSync(path.join(folder, name)))).toEqual([false, false, true, true])
    for (const [id, photoPath] of [[gone, `/uploads/${missingName}`], [text, `/uploads/${textName}`], [demo, '/images/appeals/walk-again.svg'], [outside, '/uploads/../../package.json']] as const) {
      expect(await appealPhoto(id)).toEqual({ photo_path: photoPath, photo_id: null })
    }

    // Links shared before the move still answer, with a day's cache (the address does not change with the bytes).
    const legacy = (await uploadLoader(args(getRequest(`/uploads/${jpegName}`), { file: jpegName }))) as Response
    expect(legacy.status).toBe(200)
    expect(legacy.headers.get('Content-Type')).toBe('image/jpeg')
    expect(legacy.headers.get('Cache-Control')).toBe('public, max-age=86400')
    expect(legacy.headers.get('ETag')).toBe(`"${row.sha256}"`)
    expect(Buffer.from(await legacy.arrayBuffer())).toEqual(Buffer.from(row.bytes))
    const file = a!.photo_path!.slice('/photos/'.length)
    expect(((await photoLoader(args(getRequest(a!.photo_path!), { file }))) as Response).status).toBe(200)

    // Again: nothing left to move, nothing written twice.
    const photos = await db.selectFrom('appeal_photos').select('id').execute()
    const again = await importUploads(db, folder)
    expect(again.imported).toEqual([])
    expect(await db.selectFrom('appeal_photos').select('id').execute()).toEqual(photos)
    expect(await appealPhoto(first)).toEqual(a)

    // Once no appeal uses it, neither address answers.
    await db.updateTable('appeals').set({ photo_id: null, photo_path: null, photo_alt: null }).where('id', 'in', [first, second]).execute()
    expect(((await uploadLoader(args(getRequest(`/uploads/${jpegName}`), { file: jpegName }))) as Response).status).toBe(404)
    expect(((await photoLoader(args(getRequest(a!.photo_path!), { file }))) as Response).status).toBe(404)
  })
})
