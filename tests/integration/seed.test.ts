import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { organisationPage } from '#scripts/seed/organisation-page.ts'

const db = getDb()
const now = new Date('2026-06-15T12:00:00Z')

beforeAll(async () => {
  expect(await seedDemoData(db, now)).toEqual({ seeded: true })
})

describe('demo seed', () => {
  test('loads the organisation profile and quotes every testimonial word for word with its attribution', async () => {
    const organisation = await db.selectFrom('organisation').selectAll().executeTakeFirstOrThrow()
    expect(organisation.mission).toBe(organisationPage.mission)
    expect(organisation.focus_areas).toHaveLength(7)
    const testimonials = await db.selectFrom('testimonials').selectAll().orderBy('position').execute()
    expect(testimonials).toHaveLength(9)
    expect(testimonials.map(({ quote, author, author_context }) => ({ quote, author, authorContext: author_context }))).toEqual(
      organisationPage.testimonials,
    )
    expect(testimonials[0]!.author).toBe('Gareth Peirce')
    expect(testimonials[0]!.quote).toContain('Cageprisoners gives a voice to the voiceless')
    expect(testimonials[2]!.author_context).toBe('former hostage held in Iraq, Christian Peacemaker Team (CPT)')
  })

  test('creates three published appeals, with goals in GBP and one in a second currency', async () => {
    const appeals = await db.selectFrom('appeals').selectAll().execute()
    expect(appeals).toHaveLength(3)
    expect(appeals.every((appeal) => appeal.status === 'published')).toBe(true)
    expect(new Set(appeals.map((appeal) => appeal.currency))).toEqual(new Set(['GBP', 'USD']))
  })

  test('appeal totals equal the confirmed gifts in the ledger', async () => {
    const totals = await db.selectFrom('appeal_totals').selectAll().execute()
    for (const total of totals) {
      const ledger = await db
        .selectFrom('ledger_entries')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_minor'), eb.lit(0)).as('sum'))
        .where('appeal_id', '=', total.appeal_id)
        .where('kind', '=', 'charge')
        .executeTakeFirstOrThrow()
      expect(total.confirmed_gross_minor).toBe(Number(ledger.sum))
    }
  })

  test('creates an upcoming in-person event with a small capacity, an upcoming online one and a past one', async () => {
    const events = await db.selectFrom('events').selectAll().orderBy('starts_at').execute()
    expect(events).toHaveLength(3)
    const [past, inPerson, online] = events
    expect(past!.ends_at.getTime()).toBeLessThan(now.getTime())
    expect(inPerson!.mode).toBe('in_person')
    expect(inPerson!.starts_at.getTime()).toBeGreaterThan(now.getTime())
    expect(inPerson!.capacity).toBeLessThanOrEqual(20)
    expect(online!.mode).toBe('online')
    expect(online!.starts_at.getTime()).toBeGreaterThan(now.getTime())
  })

  test('event times are the London wall-clock times in summer and in winter', async () => {
    const winter = new Date('2026-12-01T12:00:00Z')
    const { londonTime } = await import('#scripts/seed/demo-data.ts')
    expect(londonTime(winter, 0, 18, 30).toISOString()).toBe('2026-12-01T18:30:00.000Z')
    expect(londonTime(now, 0, 18, 30).toISOString()).toBe('2026-06-15T17:30:00.000Z')
  })

  test('running the seed again changes nothing', async () => {
    expect(await seedDemoData(db, now)).toEqual({ seeded: false })
    const { count } = await db
      .selectFrom('appeals')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    expect(count).toBe(3)
  })
})
