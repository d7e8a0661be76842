/**
 * `npm run bench:dashboard`: the staff totals page (`/staff`, its loader called directly with a
 * signed-in request, default range of the last 30 days) at 1,000 and at 1,000,000 confirmed
 * donations on the PostgreSQL at 127.0.0.1:5432 (or BENCH_DATABASE_URL). Prints p50 and p95 at each
 * size and, last, p95(1M) / p95(1k) against the targets (at most 1.5, and p95 under 50 ms at 1M).
 *
 * The donations are seeded with INSERT … SELECT generate_series (not through the webhook) over five
 * appeals and the year up to today, with matching ledger charges; the kept-up totals are rebuilt
 * from the ledger (scripts/seed/kept-up-totals.ts), as the webhook keeps them.
 *
 * Environment: BENCH_REQUESTS (default 200).
 */
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { rebuildKeptUpTotals } from '#scripts/seed/kept-up-totals.ts'
import { createBenchDatabase } from './bench-database.ts'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200)
const WARM_UP = 20
const SIZES = [1_000, 1_000_000]
const APPEALS = 5
const TARGET_RATIO = 1.5
const TARGET_P95_MS = 50

process.env.NODE_ENV = 'test'
process.env.LOG_LEVEL = 'warn'
const bench = await createBenchDatabase('dashboard')
let failed = false
try {
  process.env.DATABASE_URL = bench.url
  const { resetEnvForTests } = await import('#app/utils/env.server.ts')
  resetEnvForTests()
  const { getDb, closeDb } = await import('#app/utils/db.server.ts')
  const { upsertStaffUser } = await import('#app/modules/staff/staff-users.server.ts')
  const { startStaffSession } = await import('#app/modules/staff/sessions.server.ts')
  const { loader } = await import('#app/routes/staff._index.tsx')
  const db = getDb()

  await db.insertInto('organisation').values({ id: 1, name: 'Bench', short_name: 'Bench', vision: 'v', mission: 'm' }).execute()
  const appeals = await db
    .insertInto('appeals')
    .values(
      Array.from({ length: APPEALS }, (_, index) => ({
        slug: `bench-appeal-${index}`,
        title: `Bench appeal ${index}`,
        summary: 'Benchmark',
        beneficiary_name: 'Bench',
        story_markdown: 'Benchmark',
        currency: index === APPEALS - 1 ? 'EUR' : 'GBP',
        goal_minor: 100_000_000,
        suggested_amounts_minor: [1_000],
        status: 'published' as const,
        published_at: new Date(),
      })),
    )
    .returning('id')
    .execute()
  const appealIds = appeals.map((appeal) => appeal.id)

  const { id: staffUserId } = await upsertStaffUser(db, { email: 'bench-viewer@example.org', role: 'viewer', name: 'Bench viewer' })
  const setCookie = await startStaffSession(db, staffUserId)
  const cookie = setCookie.split(';')[0]!
  const request = () => new Request('http://localhost:3000/staff', { headers: { Cookie: cookie } })

  /** Donations number `from` to `to` (1-based): supporter, confirmed donation and ledger charge each. */
  async function seed(from: number, to: number) {
    await sql`
      create unlogged table bench_gifts (n bigint primary key, supporter_id uuid, donation_id uuid)`.execute(db)
        await sql`insert into bench_gifts (n, supporter_id, donation_id) select n, gen_random_uuid(), gen_random_uuid() from generate_series(${from}::bigint, ${to}::bigint) n`.execute(db)
    await sql`insert into supporters (id, email, name) select supporter_id, 'bench-' || n || '@example.org', 'Bench ' || n from bench_gifts`.execute(db)
    // A year of dates up to now, spread evenly; amounts from £1 to £100.
    await sql`
      with gift as (
        select g.n, g.supporter_id, g.donation_id,
               (${sql.val(appealIds)}::uuid[])[1 + g.n % ${APPEALS}] as appeal_id,
               case when g.n % ${APPEALS} = ${APPEALS - 1} then 'EUR' else 'GBP' end as currency,
               100 + (g.n * 7919) % 9901 as amount_minor,
               now() - ((g.n * 104729) % (365 * 86400)) * interval '1 second' as at
        from bench_gifts g
      ), donation as (
        insert into donations (id, appeal_id, supporter_id, frequency, amount_minor, currency, status, donor_name, donor_email,
                               stripe_payment_intent_id, stripe_charge_id, confirmed_at, created_at, updated_at)
        select donation_id, appeal_id, supporter_id, 'one_off', amount_minor, currency, 'confirmed', 'Bench ' || n, 'bench-' || n || '@example.org',
               'pi_bench_' || n, 'ch_bench_' || n, at, at, at
        from gift
        returning id
      )
      insert into ledger_entries (donation_id, appeal_id, kind, amount_minor, currency, stripe_object_id, occurred_at, created_at)
      select donation_id, appeal_id, 'charge', amount_minor, currency, 'ch_bench_' || n, at, at
      from gift where donation_id in (select id from donation)`.execute(db)
    // Kept-up totals rebuilt from the ledger, as the webhook would have kept them.
    await rebuildKeptUpTotals(db)
    await sql`drop table bench_gifts`.execute(db)
    await sql`analyze`.execute(db)
  }

  const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

  async function measure(size: number) {
    const { rows } = await sql<{ gifts: number; ledger: number; shards: number }>`
      select (select count(*) from donations where status = 'confirmed')::int as gifts,
             (select sum(amount_minor) from ledger_entries where kind = 'charge')::bigint as ledger,
             (select sum(confirmed_gross_minor) from appeal_total_shards)::bigint as shards`.execute(db)
    const check = rows[0]!
    if (check.gifts !== size || Number(check.ledger) !== Number(check.shards)) {
      failed = true
      console.error(`WRONG seed at ${size}:`, check)
    }
    const first = (await loader({ request: request(), params: {}, context: {} })) as { series: { buckets: { grossMinor: number }[] }[] }
    const shown = first.series.reduce((sum, line) => sum + line.buckets.reduce((inner, bucket) => inner + bucket.grossMinor, 0), 0)
    for (let index = 0; index < WARM_UP; index += 1) await loader({ request: request(), params: {}, context: {} })
    const times: number[] = []
    for (let index = 0; index < REQUESTS; index += 1) {
      const started = performance.now()
      await loader({ request: request(), params: {}, context: {} })
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    return { size, p50: percentile(times, 50), p95: percentile(times, 95), shown }
  }

  const results: Awaited<ReturnType<typeof measure>>[] = []
  let seeded = 0
  for (const size of SIZES) {
    const started = performance.now()
    await seed(seeded + 1, size)
    seeded = size
    console.log(`Seeded ${size.toLocaleString('en-GB')} confirmed donations in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    results.push(await measure(size))
  }

  const plan = await sql<{ 'QUERY PLAN': string }>`
    explain select l.* from appeals a cross join lateral (
      select g.currency, date_trunc('day', g.day::timestamp) as bucket, sum(g.gross_minor)
      from appeal_daily_gift_shards g where g.appeal_id = a.id and g.day >= current_date - 30 and g.day <= current_date
      group by 1, 2) l`.execute(db)
  console.log(`\nPlan of the range query at ${seeded.toLocaleString('en-GB')}:\n${plan.rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`)

  console.log(`\n/staff loader on ${new URL(bench.url).host}: ${REQUESTS} requests after ${WARM_UP} to warm up, default range (last 30 days)`)
  console.table(
    results.map((result) => ({
      donations: result.size.toLocaleString('en-GB'),
      'p50 ms': result.p50.toFixed(2),
      'p95 ms': result.p95.toFixed(2),
      'gross in range (minor units)': result.shown,
    })),
  )
  const small = results[0]!
  const large = results[results.length - 1]!
  const ratio = large.p95 / small.p95
  const ratioOk = ratio <= TARGET_RATIO
  const p95Ok = large.p95 < TARGET_P95_MS
  console.log(`p95 at 1M under ${TARGET_P95_MS} ms: ${large.p95.toFixed(2)} ms ${p95Ok ? 'MET' : 'NOT MET'}`)
  console.log(`ratio p95(1M)/p95(1k): ${ratio.toFixed(2)} (target at most ${TARGET_RATIO}) ${ratioOk ? 'MET' : 'NOT MET'}`)
  await closeDb()
} finally {
  await bench.drop()
}
process.exit(failed ? 1 : 0)
