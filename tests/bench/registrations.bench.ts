/**
 * `npm run bench:registrations`: 1,000 concurrent registration attempts for a 100-place event on
 * the PostgreSQL at 127.0.0.1:5432 (or BENCH_DATABASE_URL). Prints confirmed, waitlisted and errors
 * (must be 100, 900 and 0) and attempts per second.
 *
 * Environment: BENCH_ATTEMPTS (default 1000), BENCH_PLACES (default 100), BENCH_POOL (default 20).
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createBenchDatabase } from './bench-database.ts'

const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 1_000)
const PLACES = Number(process.env.BENCH_PLACES ?? 100)

process.env.NODE_ENV = 'test'
process.env.LOG_LEVEL = 'warn'
process.env.DATABASE_POOL_MAX = process.env.BENCH_POOL ?? '20'
const bench = await createBenchDatabase('registrations')
let failed = false
try {
  process.env.DATABASE_URL = bench.url
  const { resetEnvForTests } = await import('#app/utils/env.server.ts')
  resetEnvForTests()
  const { getDb, closeDb } = await import('#app/utils/db.server.ts')
  const { registerForEvent } = await import('#app/modules/registrations/register.server.ts')
  const db = getDb()
  const startsAt = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000)
  const event = await db
    .insertInto('events')
    .values({
      slug: 'bench-event',
      title: 'Bench event',
      summary: 'Benchmark',
      description_markdown: 'Benchmark',
      starts_at: startsAt,
      ends_at: new Date(startsAt.getTime() + 60 * 60 * 1000),
      time_zone: 'Europe/London',
      mode: 'in_person',
      venue_name: 'Hall',
      organiser_name: 'Bench',
      capacity: PLACES,
      status: 'published',
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const ticket = await db
    .insertInto('ticket_types')
    .values({ event_id: event.id, name: 'Free', kind: 'free', currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  await db.insertInto('organisation').values({ id: 1, name: 'Bench', short_name: 'Bench', vision: 'v', mission: 'm' }).execute()

  const started = performance.now()
  const outcomes = await Promise.all(
    Array.from({ length: ATTEMPTS }, (_, index) =>
      registerForEvent(
        db,
        {
          eventId: event.id,
          ticketTypeId: ticket.id,
          submissionId: randomUUID(),
          name: `Bench ${index}`,
          email: `bench-${index}@example.org`,
          quantity: 1,
          accessNeeds: null,
          chosenPriceMinor: null,
        },
        { origin: 'http://localhost:3000', clientIp: `10.1.${index >> 8}.${index & 255}` },
      ).catch((error: unknown) => ({ kind: 'error' as const, error })),
    ),
  )
  const seconds = (performance.now() - started) / 1000
  const count = (kind: string) => outcomes.filter((outcome) => outcome.kind === kind).length
  const confirmed = count('confirmed')
  const waitlisted = count('waitlisted')
  const errors = ATTEMPTS - confirmed - waitlisted
  const { places_taken } = await db.selectFrom('events').select('places_taken').where('id', '=', event.id).executeTakeFirstOrThrow()
  console.log(`\nRegistrations on ${new URL(bench.url).host}: ${ATTEMPTS} attempts at once for ${PLACES} places (pool ${process.env.DATABASE_POOL_MAX})`)
  console.table([{ confirmed, waitlisted, errors, 'places taken': places_taken, seconds: seconds.toFixed(2), 'attempts/s': (ATTEMPTS / seconds).toFixed(0) }])
  const expected = confirmed === PLACES && waitlisted === ATTEMPTS - PLACES && errors === 0 && places_taken === PLACES
  console.log(expected ? `OK: ${PLACES} confirmed, ${ATTEMPTS - PLACES} waitlisted, 0 errors` : 'WRONG: the counts are not as they must be')
  if (!expected) {
    failed = true
    const firstError = outcomes.find((outcome) => outcome.kind === 'error')
    if (firstError) console.error(firstError)
  }
  await closeDb()
} finally {
  await bench.drop()
}
process.exit(failed ? 1 : 0)
