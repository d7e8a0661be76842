import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { migrateToLatest } from '#db/migrate.server.ts'
import { migrations } from '#db/migrations/index.ts'

const db = getDb()

async function newAppeal(slug: string) {
  return db
    .insertInto('appeals')
    .values({
      slug,
      title: 'Test appeal',
      summary: 'Summary',
      beneficiary_name: 'A',
      story_markdown: 'Story',
      currency: 'GBP',
      goal_minor: 100_000,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
}

async function newSupporter() {
  return db.insertInto('supporters').values({ name: 'S' }).returning('id').executeTakeFirstOrThrow()
}

describe('migrations', () => {
  test('every migration has been applied to the test database, and running again applies nothing', async () => {
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
    expect(applied.rows.map((row) => row.name)).toEqual(Object.keys(migrations))
    const { results } = await migrateToLatest(db)
    expect(results).toEqual([])
  })

  test('creates the tables of the whole data model', async () => {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public'`.execute(db)
    const names = tables.rows.map((row) => row.table_name)
    for (const table of [
      'organisation', 'testimonials', 'appeals', 'appeal_totals', 'appeal_total_shards', 'appeal_donors', 'appeal_updates', 'supporters',
      'donations', 'ledger_entries', 'donation_events', 'recurring_plans', 'gift_aid_declarations',
      'events', 'ticket_types', 'registrations', 'savers', 'saved_events', 'staff_users',
      'staff_sessions', 'staff_sign_in_tokens', 'audit_log', 'webhook_events', 'email_outbox',
      'email_suppressions', 'dev_mailbox',
    ]) {
      expect(names, table).toContain(table)
    }
  })
})

describe('constraints keep bad data out', () => {
  test('money is a positive bigint and keeps values beyond 32 bits exactly', async () => {
    const appeal = await newAppeal('bigint-goal')
    const supporter = await newSupporter()
    const large = 9_007_199_254_740_991 // Number.MAX_SAFE_INTEGER
    const donation = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: supporter.id, frequency: 'one_off', amount_minor: large, currency: 'KRW' })
      .returning('amount_minor')
      .executeTakeFirstOrThrow()
    expect(donation.amount_minor).toBe(large)
    await expect(
      db
        .insertInto('donations')
        .values({ appeal_id: appeal.id, supporter_id: supporter.id, frequency: 'one_off', amount_minor: 0, currency: 'GBP' })
        .execute(),
    ).rejects.toThrow(/check constraint/)
  })

  test('a Stripe Checkout Session belongs to one donation only', async () => {
    const appeal = await newAppeal('unique-session')
    const supporter = await newSupporter()
    const values = {
      appeal_id: appeal.id,
      supporter_id: supporter.id,
      frequency: 'one_off' as const,
      amount_minor: 1_000,
      currency: 'GBP',
      stripe_checkout_session_id: 'cs_test_same',
    }
    await db.insertInto('donations').values(values).execute()
    await expect(db.insertInto('donations').values(values).execute()).rejects.toThrow(/unique/)
  })

  test('a webhook event id is recorded once per provider', async () => {
    await db.insertInto('webhook_events').values({ provider: 'stripe', event_id: 'evt_1', type: 'x' }).execute()
    await expect(
      db.insertInto('webhook_events').values({ provider: 'stripe', event_id: 'evt_1', type: 'x' }).execute(),
    ).rejects.toThrow(/unique|duplicate/)
    await db.insertInto('webhook_events').values({ provider: 'resend', event_id: 'evt_1', type: 'x' }).execute()
  })

  test('an event can never hold more places than its capacity', async () => {
    const event = await db
      .insertInto('events')
      .values({
        slug: 'tiny',
        title: 'Tiny',
        summary: 's',
        description_markdown: 'd',
        starts_at: new Date('2030-01-01T18:00:00Z'),
        ends_at: new Date('2030-01-01T20:00:00Z'),
        time_zone: 'Europe/London',
        mode: 'in_person',
        organiser_name: 'Org',
        capacity: 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db.updateTable('events').set({ places_taken: 1 }).where('id', '=', event.id).execute()
    await expect(
      db.updateTable('events').set({ places_taken: 2 }).where('id', '=', event.id).execute(),
    ).rejects.toThrow(/events_places_within_capacity/)
  })

  test('one live registration per email and event, in any letter case, unless it is a group booking', async () => {
    const event = await db
      .insertInto('events')
      .values({
        slug: 'one-each',
        title: 'One each',
        summary: 's',
        description_markdown: 'd',
        starts_at: new Date('2030-01-01T18:00:00Z'),
        ends_at: new Date('2030-01-01T20:00:00Z'),
        time_zone: 'Europe/London',
        mode: 'online',
        organiser_name: 'Org',
        capacity: 10,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    const ticket = await db
      .insertInto('ticket_types')
      .values({ event_id: event.id, name: 'Free', kind: 'free', currency: 'GBP' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const registration = {
      event_id: event.id,
      ticket_type_id: ticket.id,
      name: 'Sam',
      currency: 'GBP',
      status: 'confirmed' as const,
      privacy_consent_at: new Date(),
    }
    await db.insertInto('registrations').values({ ...registration, email: 'sam@example.org' }).execute()
    await expect(
      db.insertInto('registrations').values({ ...registration, email: 'SAM@example.org' }).execute(),
    ).rejects.toThrow(/registrations_one_live_per_email/)
    await db
      .insertInto('registrations')
      .values({ ...registration, email: 'sam@example.org', is_group_booking: true })
      .execute()
    await db
      .insertInto('registrations')
      .values({ ...registration, email: 'sam@example.org', status: 'cancelled' })
      .execute()
  })
})
