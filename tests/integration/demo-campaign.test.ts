import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { loader as appealLoader } from '#app/routes/appeals.$slug.tsx'
import { seedDemoData } from '#scripts/seed/demo-data.ts'

/**
 * Issue 13: the demo looks like a live campaign (each appeal between a third and nine-tenths of
 * its goal, tens of supporters, a few messages, gifts spread over recent weeks, raster photos for
 * share cards), and its kept-up totals are still exactly what the ledger says.
 */

const db = getDb()
const now = new Date()

beforeAll(async () => {
  expect(await seedDemoData(db, now)).toEqual({ seeded: true })
})

async function appealRows() {
  return db
    .selectFrom('appeals as a')
    .innerJoin('appeal_totals as t', 't.appeal_id', 'a.id')
    .select(['a.id', 'a.slug', 'a.goal_minor', 'a.currency', 'a.photo_path', 't.net_minor', 't.confirmed_gross_minor', 't.donor_count', 't.donation_count'])
    .execute()
}

describe('the demo campaign', () => {
  test('every appeal is between a third and nine-tenths of its goal, with tens of supporters', async () => {
    const appeals = await appealRows()
    expect(appeals).toHaveLength(3)
    for (const appeal of appeals) {
      const share = appeal.net_minor / appeal.goal_minor
      expect(share, appeal.slug).toBeGreaterThanOrEqual(1 / 3)
      expect(share, appeal.slug).toBeLessThanOrEqual(0.9)
      expect(appeal.donor_count, appeal.slug).toBeGreaterThanOrEqual(20)
      expect(appeal.donor_count, appeal.slug).toBeLessThan(200)
    }
  })

  test('the kept-up totals equal the ledger, gift by gift and donor by donor', async () => {
    for (const appeal of await appealRows()) {
      const ledger = await sql<{ gross: string; gifts: string; donors: string }>`
        select coalesce(sum(l.amount_minor), 0) as gross, count(*) as gifts, count(distinct d.supporter_id) as donors
        from ledger_entries l join donations d on d.id = l.donation_id
        where l.appeal_id = ${appeal.id} and l.kind = 'charge'`.execute(db)
      const row = ledger.rows[0]!
      expect({ gross: appeal.confirmed_gross_minor, gifts: appeal.donation_count, donors: appeal.donor_count }, appeal.slug).toEqual({
        gross: Number(row.gross),
        gifts: Number(row.gifts),
        donors: Number(row.donors),
      })
    }
  })

  test('gifts are spread over the recent weeks, some today, and a few carry messages', async () => {
    const spread = await sql<{ days: string; today: string; messages: string; gifts: string }>`
      select count(distinct date_trunc('day', confirmed_at)) as days,
             count(*) filter (where confirmed_at > ${new Date(now.getTime() - 24 * 60 * 60 * 1000)}) as today,
             count(*) filter (where show_message and message is not null) as messages,
             count(*) as gifts
      from donations where status = 'confirmed'`.execute(db)
    const { days, today, messages, gifts } = spread.rows[0]!
    expect(Number(days)).toBeGreaterThanOrEqual(14)
    expect(Number(today)).toBeGreaterThan(0)
    expect(Number(messages)).toBeGreaterThanOrEqual(5)
    expect(Number(messages)).toBeLessThan(Number(gifts) / 2)
    const oldest = await db.selectFrom('donations').select((eb) => eb.fn.min('confirmed_at').as('oldest')).executeTakeFirstOrThrow()
    expect(now.getTime() - new Date(oldest.oldest!).getTime()).toBeLessThan(42 * 24 * 60 * 60 * 1000)
  })

  test('every appeal photo is a JPEG or WebP, so share cards show it, and the appeal page offers it as og:image', async () => {
    const { readFile } = await import('node:fs/promises')
    for (const appeal of await appealRows()) {
      expect(appeal.photo_path, appeal.slug).toMatch(/\.(jpg|webp)$/)
      const bytes = await readFile(`public${appeal.photo_path}`)
      const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8
      const webp = bytes.subarray(8, 12).toString('latin1') === 'WEBP'
      expect(jpeg || webp, appeal.slug).toBe(true)
    }
    const page = (await appealLoader({ request: new Request('http://localhost:3000/appeals/walk-again-yusuf'), params: { slug: 'walk-again-yusuf' }, context: {} })) as unknown as {
      data: { imageUrl: string }
    }
    expect(page.data.imageUrl).toMatch(/^http:\/\/localhost:3000\/images\/appeals\/[a-z-]+\.jpg$/)
  })

  test('the organisation shows a charity number and a registered address', async () => {
    const organisation = await db.selectFrom('organisation').select(['charity_number', 'registered_address']).executeTakeFirstOrThrow()
    expect(organisation.charity_number).toBeTruthy()
    expect(organisation.registered_address).toBeTruthy()
  })
})
