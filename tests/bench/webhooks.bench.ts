/**
 * `npm run bench:webhooks`: signed `checkout.session.completed` events per second through the real
 * inbox (`receiveStripeWebhook`, then `applyDueStripeEvents`: signature check, the inbox row, ledger, totals, receipt in
 * the outbox and its graphile-worker job) on real PostgreSQL, beside pgbench's built-in tpcb-like
 * transactions per second on the same server, with the same number of clients.
 *
 * Environment: BENCH_WEBHOOKS (events, default 2000), BENCH_WEBHOOK_WARMUP (events delivered before
 * the clock starts, default 500), BENCH_WEBHOOK_CONCURRENCY (default 8, also
 * pgbench's client count), BENCH_PGBENCH_SECONDS (default 20), BENCH_DATABASE_URL (the server).
 */
import { performance } from 'node:perf_hooks'
// Imports no app module, so it may load before the environment below is set.
import { createCleanUp } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'

const N = positiveInteger('BENCH_WEBHOOKS', 2_000)
/** Events delivered before the clock starts (their own donations), so the JIT and caches are warm. */
const WARM_UP = positiveInteger('BENCH_WEBHOOK_WARMUP', 500)
const TOTAL = N + WARM_UP
const CONCURRENCY = positiveInteger('BENCH_WEBHOOK_CONCURRENCY', 8)
const PGBENCH_SECONDS = positiveInteger('BENCH_PGBENCH_SECONDS', 20)
const PGBENCH_SCALE = 10
const WEBHOOK_SECRET = 'whsec_bench_secret'
const TARGET_RATIO = 0.5

// Before any app module is loaded: they read the environment once, on first use.
process.env.NODE_ENV = 'test'
process.env.LOG_LEVEL = 'warn'
process.env.STRIPE_SECRET_KEY = 'sk_test_bench'
process.env.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
// The app's pool must not be the bottleneck when more lanes than its default 10 are asked for.
process.env.DATABASE_POOL_MAX = String(Math.max(10, CONCURRENCY))
delete process.env.DATABASE_URL

const log = (message: string) => process.stderr.write(`[bench:webhooks] ${message}\n`)

const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

async function main() {
  const { sql } = await import('kysely')
  const { setupServer } = await import('msw/node')
  const { resetEnvForTests } = await import('#app/utils/env.server.ts')
  const { closeDb, getDb } = await import('#app/utils/db.server.ts')
  const { receiveStripeWebhook } = await import('#app/modules/payments/stripe-webhook.server.ts')
  const { applyDueStripeEvents } = await import('#app/modules/payments/stripe-inbox.server.ts')
  const { emailSchedulingSettled } = await import('#app/modules/email/outbox.server.ts')
  const { signWebhookPayload } = await import('#app/modules/payments/stripe.server.ts')
  const { completedSession, stripeEvent } = await import('#tests/mocks/stripe.ts')
  const { createBenchDatabase } = await import('./bench-database.ts')
  const { BENCH_SERVER_URL, createEmptyDatabase, runCommand } = await import('./bench-server.ts')

  // Nothing may leave the machine: any HTTP request from this process (Stripe, Resend) is an error.
  const network = setupServer()
  network.listen({ onUnhandledRequest: 'error' })
  addCleanUp('network guard', async () => network.close())

  log('creating and migrating the benchmark database')
  const bench = await createBenchDatabase('webhooks')
  addCleanUp('drop the benchmark database', () => bench.drop())
  process.env.DATABASE_URL = bench.url
  resetEnvForTests()
  const db = getDb()
  addCleanUp('close the app pool', () => closeDb())

  /** Starts each measured phase from a clean WAL (needs a superuser; skipped otherwise). */
  const checkpoint = () => sql`checkpoint`.execute(bench.db).catch(() => log('CHECKPOINT not allowed; continuing without'))

  // ── Seed: one appeal with its totals row, N pending donations from N different supporters ──
  log(`seeding one appeal and ${TOTAL} pending donations`)
  const appeal = await bench.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('appeals')
      .values({
        slug: `bench-appeal-${Date.now().toString(36)}`,
        title: 'Benchmark appeal',
        summary: 'Webhook benchmark',
        beneficiary_name: 'Bench beneficiary',
        story_markdown: 'Story',
        currency: 'GBP',
        goal_minor: 100_000_000,
        suggested_amounts_minor: [1_000, 2_500],
        status: 'published',
        published_at: new Date(),
      })
      .returning(['id', 'currency'])
      .executeTakeFirstOrThrow()
    return row
  })
  const seeded = await sql<{ id: string; amount_minor: number }>`
    with new_supporters as (
      insert into supporters (email, name)
      select 'bench-donor-' || i || '@example.org', 'Bench Donor ' || i from generate_series(1, ${TOTAL}::int) as i
      returning id, email, name
    )
    insert into donations (appeal_id, supporter_id, frequency, amount_minor, currency, donor_name, donor_email)
    select ${appeal.id}::uuid, s.id, 'one_off', 1000 + (row_number() over ()) % 50 * 100, ${appeal.currency}, s.name, s.email
    from new_supporters s
    returning id, amount_minor`.execute(bench.db)
  const donations = seeded.rows
  if (donations.length !== TOTAL) throw new Error(`Seeded ${donations.length} donations, expected ${TOTAL}`)
  const expectedGross = donations.reduce((sum, donation) => sum + Number(donation.amount_minor), 0)
  // A live database has statistics; a just-filled one should too.
  await sql`analyze`.execute(bench.db)

  // ── Build and sign every event up front: signing is not part of the measurement ──
  const deliveries = donations.map((donation, index) => {
    const session = {
      ...completedSession({ donationId: donation.id, amountMinor: Number(donation.amount_minor), paymentIntent: `pi_bench_${index}` }),
      // completedSession derives ids from the first 8 characters of the donation id; make them unique.
      id: `cs_bench_${index}`,
    }
    const payload = JSON.stringify(stripeEvent('checkout.session.completed', session))
    return { payload, signature: signWebhookPayload(payload, WEBHOOK_SECRET) }
  })
  const signedAt = Date.now()

  // Open the pool's connections before the clock starts, and a quiet WAL to begin from.
  await Promise.all(Array.from({ length: CONCURRENCY }, () => sql`select 1`.execute(db)))
  await checkpoint()

  // ── Deliver: the warm-up events first, unmeasured, then N with the clock running ──
  const latencies = new Float64Array(N)
  const failures: string[] = []
  let next = 0
  async function lane(end: number, measured: boolean) {
    for (;;) {
      if (next >= end || interrupted()) return
      const index = next++
      const { payload, signature } = deliveries[index]!
      const started = performance.now()
      // Received into the inbox, then applied at once by this lane (docs/decisions/014): the time
      // from delivery to a confirmed gift, as one worker lane per client would manage it.
      const result = await receiveStripeWebhook(db, payload, signature)
      await applyDueStripeEvents(db, { maxAttempts: 8 })
      if (measured) latencies[index - WARM_UP] = performance.now() - started
      if (result.status !== 200 || result.message !== 'Received') failures.push(`event ${index}: ${result.status} ${result.message}`)
    }
  }
  log(`warming up with ${WARM_UP} events`)
  await Promise.all(Array.from({ length: CONCURRENCY }, () => lane(WARM_UP, false)))
  await emailSchedulingSettled()
  log(`delivering ${N} events with ${CONCURRENCY} at a time`)
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  await Promise.all(Array.from({ length: CONCURRENCY }, () => lane(TOTAL, true)))
  const elapsedMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const nodeCpuPerEventMs = (cpu.user + cpu.system) / 1000 / N
  if (interrupted()) throw new Error('Interrupted')
  if (failures.length > 0) {
    const expired = Date.now() - signedAt > 300_000 ? ' (signatures are valid for 300 s after signing; the run took longer)' : ''
    throw new Error(`${failures.length} of ${N} events were not processed${expired}:\n  ${failures.slice(0, 10).join('\n  ')}`)
  }
  const eventsPerSecond = N / (elapsedMs / 1000)
  // The receipts' delivery jobs are added just after each commit, in batches; wait for the last.
  await emailSchedulingSettled()
  const sorted = Float64Array.from(latencies).sort()
  const quarter = Math.max(1, Math.floor(N / 4))
  const firstQuarter = Float64Array.from(latencies.subarray(0, quarter)).sort()
  const lastQuarter = Float64Array.from(latencies.subarray(N - quarter)).sort()

  // ── Verify: every donation confirmed once, totals, receipts and their jobs ──
  const check = await sql<{ confirmed: number; donation_count: number; donor_count: number; gross: number; outbox: number; jobs: number; recorded: number }>`
    select
      (select count(*) from donations where appeal_id = ${appeal.id} and status = 'confirmed')::int as confirmed,
      t.donation_count::int as donation_count,
      t.donor_count::int as donor_count,
      t.confirmed_gross_minor as gross,
      (select count(*) from email_outbox where template = 'donation-receipt')::int as outbox,
      (select count(*) from graphile_worker.jobs where task_identifier = 'send_email')::int as jobs,
      (select count(*) from stripe_inbox where state = 'applied')::int as recorded
    from appeal_totals t where t.appeal_id = ${appeal.id}`.execute(bench.db)
  const totals = check.rows[0]
  const problems: string[] = []
  if (!totals) problems.push('appeal_totals row is missing')
  else {
    if (totals.confirmed !== TOTAL) problems.push(`${totals.confirmed} donations confirmed, expected ${TOTAL}`)
    if (totals.donation_count !== TOTAL) problems.push(`appeal_totals.donation_count = ${totals.donation_count}, expected ${TOTAL}`)
    if (totals.donor_count !== TOTAL) problems.push(`appeal_totals.donor_count = ${totals.donor_count}, expected ${TOTAL}`)
    if (Number(totals.gross) !== expectedGross) problems.push(`appeal_totals.confirmed_gross_minor = ${totals.gross}, expected ${expectedGross}`)
    if (totals.outbox !== TOTAL) problems.push(`${totals.outbox} receipts in the outbox, expected ${TOTAL}`)
    if (totals.jobs !== TOTAL) problems.push(`${totals.jobs} send_email jobs, expected ${TOTAL}`)
    if (totals.recorded !== TOTAL) problems.push(`${totals.recorded} applied inbox rows, expected ${TOTAL}`)
  }
  if (problems.length > 0) throw new Error(`Verification failed:\n  ${problems.join('\n  ')}`)
  log(`verified: ${TOTAL} donations confirmed (${WARM_UP} of them warming up), appeal_totals.donation_count = ${TOTAL}, ${TOTAL} receipts and jobs`)

  const settings = await sql<{ version: string; synchronous_commit: string; fsync: string; shared_buffers: string }>`
    select current_setting('server_version') as version, current_setting('synchronous_commit') as synchronous_commit,
           current_setting('fsync') as fsync, current_setting('shared_buffers') as shared_buffers`.execute(bench.db)

  // ── pgbench on the same server, same client count ──
  const server = new URL(BENCH_SERVER_URL)
  const connection = ['-h', server.hostname, '-p', server.port || '5432', '-U', decodeURIComponent(server.username || 'postgres')]
  const pgEnv = { ...process.env, ...(server.password ? { PGPASSWORD: decodeURIComponent(server.password) } : {}) }
  const pgbenchDb = await createEmptyDatabase('pgbench')
  addCleanUp('drop the pgbench database', () => pgbenchDb.drop())
  log(`pgbench -i -s ${PGBENCH_SCALE} on ${pgbenchDb.name}`)
  await runCommand('pgbench', ['-i', '-s', String(PGBENCH_SCALE), '-q', ...connection, pgbenchDb.name], { env: pgEnv })
  await checkpoint()
  const threads = Math.min(2, CONCURRENCY)
  const pgbenchArgs = ['-c', String(CONCURRENCY), '-j', String(threads), '-T', String(PGBENCH_SECONDS), '-M', 'prepared']
  log(`pgbench ${pgbenchArgs.join(' ')} (${PGBENCH_SECONDS} s)`)
  const run = await runCommand('pgbench', [...pgbenchArgs, ...connection, pgbenchDb.name], { env: pgEnv })
  const tpsMatch = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)
  if (!tpsMatch) throw new Error(`Could not find "tps = … (without initial connection time)" in pgbench's output:\n${run.stdout}\n${run.stderr}`)
  const pgbenchTps = Number(tpsMatch[1])
  const pgbenchLatency = /latency average = ([\d.]+) ms/.exec(run.stdout)?.[1]

  const ratio = eventsPerSecond / pgbenchTps
  console.log(
    `\nStripe webhooks vs pgbench on ${server.host} (PostgreSQL ${settings.rows[0]?.version}, synchronous_commit=${settings.rows[0]?.synchronous_commit}, ` +
      `fsync=${settings.rows[0]?.fsync}, shared_buffers=${settings.rows[0]?.shared_buffers})`,
  )
  console.table([
    { measure: 'events (N)', value: N },
    { measure: 'concurrency (webhook lanes = pgbench clients)', value: CONCURRENCY },
    { measure: 'webhook run time (s)', value: (elapsedMs / 1000).toFixed(2) },
    { measure: 'webhook events/s', value: eventsPerSecond.toFixed(1) },
    { measure: 'webhook latency p50 (ms)', value: percentile(sorted, 50).toFixed(2) },
    { measure: 'webhook latency p95 (ms)', value: percentile(sorted, 95).toFixed(2) },
    { measure: 'Node CPU per event (ms; the rest of each event is waiting on PostgreSQL)', value: nodeCpuPerEventMs.toFixed(3) },
    { measure: 'webhook latency p50, first / last quarter (ms)', value: `${percentile(firstQuarter, 50).toFixed(2)} / ${percentile(lastQuarter, 50).toFixed(2)}` },
    { measure: `pgbench tpcb-like tps (-s ${PGBENCH_SCALE} -c ${CONCURRENCY} -j ${threads} -T ${PGBENCH_SECONDS} -M prepared)`, value: pgbenchTps.toFixed(1) },
    { measure: 'pgbench latency average (ms)', value: pgbenchLatency ?? '?' },
  ])
  console.log(
    `Ratio webhook events/s ÷ pgbench tps = ${ratio.toFixed(3)} (target: at least ${TARGET_RATIO}) — ${ratio >= TARGET_RATIO ? 'target met' : 'BELOW TARGET'}`,
  )
}

await runBenchmark('bench:webhooks', main)
