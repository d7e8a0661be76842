import { beforeAll, describe, expect, test } from 'vitest'
import { loader as aboutLoader } from '#app/routes/about.tsx'
import { loader as appealsLoader } from '#app/routes/appeals._index.tsx'
import { loader as eventsLoader } from '#app/routes/events._index.tsx'
import { loader as homeLoader } from '#app/routes/_index.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { demoGifts, seedDemoData } from '#scripts/seed/demo-data.ts'

const db = getDb()

describe('before the organisation is set up', () => {
  test('the about page is a 404, not an error', async () => {
    const response = await aboutLoader().catch((thrown: unknown) => thrown)
    expect(response).toBeInstanceOf(Response)
    expect((response as Response).status).toBe(404)
  })
})

describe('with the demo data', () => {
  beforeAll(async () => {
    await seedDemoData(db)
  })

  test('the home page reads the mission, testimonials, featured appeals and upcoming events', async () => {
    const data = await homeLoader()
    expect(data.organisation?.mission).toMatch(/War on Terror/)
    expect(data.testimonials.map((testimonial) => testimonial.author)).toContain('Ahmad Abdulahad')
    expect(data.appeals).toHaveLength(3)
    expect(data.events).toHaveLength(2)
    expect(data.events.every((event) => event.starts_at.getTime() > Date.now())).toBe(true)
  })

  test('a draft or closed appeal is not listed', async () => {
    await db.updateTable('appeals').set({ status: 'draft' }).where('slug', '=', 'medical-care-karim').execute()
    await db.updateTable('appeals').set({ closes_at: new Date(Date.now() - 1000) }).where('slug', '=', 'rebuild-home-samir').execute()
    const { appeals } = await appealsLoader()
    expect(appeals.map((appeal) => appeal.slug)).toEqual(['walk-again-yusuf'])
    // Issue 13: the demo's totals are its gifts (each from its own donor), not a fixed three.
    const gifts = demoGifts().filter((gift) => gift.appeal === 'walk-again-yusuf')
    expect(appeals[0]!.raised_minor).toBe(gifts.reduce((sum, gift) => sum + gift.amount, 0))
    expect(appeals[0]!.donor_count).toBe(gifts.length)
  })

  test('the events page puts upcoming events first, soonest first, and past ones apart', async () => {
    const { upcoming, past } = await eventsLoader()
    expect(upcoming.map((event) => event.slug)).toEqual([
      'witness-testimonies-evening',
      'online-briefing-enforced-disappearances',
    ])
    expect(past.map((event) => event.slug)).toEqual(['annual-fundraising-dinner'])
  })

  test('a draft event is not shown', async () => {
    await db.updateTable('events').set({ status: 'draft' }).where('slug', '=', 'witness-testimonies-evening').execute()
    const { upcoming } = await eventsLoader()
    expect(upcoming.map((event) => event.slug)).not.toContain('witness-testimonies-evening')
  })
})
