/**
 * `npm run bench:webhooks`: Stripe's `checkout.session.completed` events through the production
 * build on real PostgreSQL, in the three figures issue 12 asks for, each beside pgbench's built-in
 * tpcb-like transactions per second on the same server with the same number of clients:
 *
 * 1. intake: signed events POSTed to /webhooks/stripe by CONCURRENCY keep-alive clients, each
 *    answered 200 once its inbox row is committed (no worker running), events/s ÷ pgbench tps;
 * 2. drain: the backlog that intake left (BENCH_DRAIN events, 20,000 by default) applied by the
 *    worker process (`build/server/worker.js`: confirmation, ledger, totals, receipt in the outbox),
 *    events/s ÷ pgbench tps, timed from the first event applied to the last (start-up excluded);
 * 3. latency: with the worker running, BENCH_STEADY_RATE events/s (100) for BENCH_STEADY_SECONDS
 *    (20), each from the moment its row is stored to the moment it is applied (the inbox's own
 *    `received_at` and `applied_at`), p50 and p95.
 *
 * The receipts go to a fake Resend on 127.0.0.1 (nothing leaves the machine). The three figures
 * are printed last, the intake ratio at the very end.
 *
 * Environment: BENCH_DRAIN, BENCH_WEBHOOK_WARMUP (500, delivered before intake's clock starts and
 * part of the backlog), BENCH_WEBHOOK_CONCURRENCY (8: HTTP clients and pgbench clients),
 * BENCH_STEADY_RATE, BENCH_STEADY_SECONDS, BENCH_APPLY_CONCURRENCY (the worker's lanes, 4),
 * BENCH_PGBENCH_SECONDS (20), BENCH_SKIP_BUILD, BENCH_DATABASE_URL (the server), BENCH_WORKER_NODE_ARGS
 * and BENCH_SERVER_NODE_ARGS (Node options for the worker and the web server, such as --cpu-prof).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import getPort from 'get-port'
import { sql } from 'kysely'
import { signWebhookPayload } from '#app/modules/payments/stripe.server.ts'
import { compiled } from '#scripts/build-server.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { positiveInteger } from './bench-env.ts'
import { createBenchDatabase } from './bench-database.ts'
import { BENCH_SERVER_URL, PRODUCTION_SERVER_ARGS, buildForProduction, createCleanUp, createEmptyDatabase, productionEnv, runCommand, startAppServer } from './bench-server.ts'
import { startFakeResendServer } from './fake-resend-server.ts'

const DRAIN = positiveInteger('BENCH_DRAIN', 20_000)
const WARM_UP = positiveInteger('BENCH_WEBHOOK_WARMUP', 500)
const CONCURRENCY = positiveInteger('BENCH_WEBHOOK_CONCURRENCY', 8)
const STEADY_RATE = positiveInteger('BENCH_STEADY_RATE', 100)
const STEADY_SECONDS = positiveInteger('BENCH_STEADY_SECONDS', 20)
const APPLY_CONCURRENCY = positiveInteger('BENCH_APPLY_CONCURRENCY', 4)
const PGBENCH_SECONDS = positiveInteger('BENCH_PGBENCH_SECONDS', 20)
const PGBENCH_SCALE = 10
const STEADY = STEADY_RATE * STEADY_SECONDS
const WEBHOOK_SECRET = 'whsec_bench_webhooks'
const TARGETS = { intake: 0.5, drain: 0.25, latencyP95Ms: 500 }

const log = (message: string) => process.stderr.write(`[bench:webhooks] ${message}\n`)
const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (interrupted()) throw new Error('Interrupted')
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function main() {
  log(`building for production${process.env.BENCH_SKIP_BUILD ? ' (skipped: BENCH_SKIP_BUILD)' : ''}`)
  await buildForProduction()

  log('creating and migrating the benchmark database')
  const bench = await createBenchDatabase('webhooks')
  addCleanUp('drop the benchmark database', () => bench.drop())
  const checkpoint = () => sql`checkpoint`.execute(bench.db).catch(() => log('CHECKPOINT not allowed; continuing without'))

  // ── Seed: one appeal, a pending donation from its own supporter for every event ──
  const total = WARM_UP + DRAIN + STEADY
  log(`seeding one appeal and ${total} pending donations`)
  const appeal = await bench.db
    .insertInto('appeals')
    .values({
      slug: `bench-appeal-${Date.now().toString(36)}`,
      title: 'Benchmark appeal',
      summary: 'Webhook benchmark',
      beneficiary_name: 'Bench beneficiary',
      story_markdown: 'Story',
      currency: 'GBP',
      goal_minor: 1_000_000_000,
      suggested_amounts_minor: [1_000, 2_500],
      status: 'published',
      published_at: new Date(),
    })
    .returning(['id', 'currency'])
    .executeTakeFirstOrThrow()
  const donations = (
    await sql<{ id: string; amount_minor: number }>`
      with new_supporters as (
        insert into supporters (email, name)
        select 'bench-donor-' || i || '@example.org', 'Bench Donor ' || i from generate_series(1, ${total}::int) as i
        returning id, email, name
      )
      insert into donations (appeal_id, supporter_id, frequency, amount_minor, currency, donor_name, donor_email)
      select ${appeal.id}::uuid, s.id, 'one_off', 1000 + (row_number() over ()) % 50 * 100, ${appeal.currency}, s.name, s.email
      from new_supporters s
      returning id, amount_minor`.execute(bench.db)
  ).rows
  if (donations.length !== total) throw new Error(`Seeded ${donations.length} donations, expected ${total}`)
  const expectedGross = donations.reduce((sum, donation) => sum + Number(donation.amount_minor), 0)
  await sql`analyze`.execute(bench.db)

  /** Stripe's signature is valid for 300 s: each phase signs its own events just before sending. */
  const payloads = donations.map((donation, index) => {
    const session = {
      ...completedSession({ donationId: donation.id, amountMinor: Number(donation.amount_minor), paymentIntent: `pi_bench_${index}` }),
      id: `cs_bench_${index}`,
    }
    return JSON.stringify(stripeEvent('checkout.session.completed', session))
  })
  const signed = (from: number, to: number) => payloads.slice(from, to).map((payload) => ({ payload, signature: signWebhookPayload(payload, WEBHOOK_SECRET) }))

  // ── The production server (no worker in it) and a fake Resend for the worker's receipts ──
  const resend = await startFakeResendServer({ ratePerSecond: 10_000, latencyMs: 1 })
  addCleanUp('stop the fake Resend', () => resend.close())
  const port = await getPort()
  const appEnv = {
    ...productionEnv(port, bench.url),
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    MIGRATE_ON_START: 'false',
    WORKER_IN_PROCESS: 'false',
    LOG_LEVEL: 'warn',
    RESEND_BASE_URL: resend.url,
    STRIPE_APPLY_CONCURRENCY: String(APPLY_CONCURRENCY),
  }
  const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const server = await startAppServer({ port, env: appEnv, nodeArgs: [...serverNodeArgs, ...PRODUCTION_SERVER_ARGS] })
  addCleanUp('stop the web server', () => server.stop())

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  addCleanUp('close the HTTP agent', async () => agent.destroy())
  const post = (delivery: { payload: string; signature: string }) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/stripe',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(delivery.payload), 'stripe-signature': delivery.signature },
        },
        (response) => {
          let body = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => (body += chunk))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
        },
      )
      request.on('error', reject)
      request.end(delivery.payload)
    })

  const failures: string[] = []
  async function deliverAll(deliveries: { payload: string; signature: string }[]) {
    let next = 0
    const lane = async () => {
      while (next < deliveries.length && !interrupted()) {
        const index = next++
        const answer = await post(deliveries[index]!)
        if (answer.status !== 200 || !answer.body.includes('"Received"')) failures.push(`${answer.status} ${answer.body.slice(0, 120)}`)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane))
    if (interrupted()) throw new Error('Interrupted')
    if (failures.length > 0) throw new Error(`${failures.length} deliveries were not received:\n  ${failures.slice(0, 10).join('\n  ')}`)
  }

  // ── 1. Intake ──
  log(`warming up with ${WARM_UP} events`)
  await deliverAll(signed(0, WARM_UP))
  const intakeEvents = signed(WARM_UP, WARM_UP + DRAIN)
  await checkpoint()
  log(`intake: ${DRAIN} events by ${CONCURRENCY} clients`)
  const intakeStarted = performance.now()
  await deliverAll(intakeEvents)
  const intakeSeconds = (performance.now() - intakeStarted) / 1000
  const intakeRate = DRAIN / intakeSeconds
  const backlog = WARM_UP + DRAIN
  const stored = await bench.db.selectFrom('stripe_inbox').select((eb) => eb.fn.countAll<string>().as('n')).where('state', '=', 'pending').executeTakeFirstOrThrow()
  if (Number(stored.n) !== backlog) throw new Error(`${stored.n} events waiting in the inbox after intake, expected ${backlog}`)

  // ── 2. Drain: the worker process applies the backlog ──
  await checkpoint()
  log(`drain: the worker applies ${backlog} events (${APPLY_CONCURRENCY} lanes)`)
  const worker = await startWorker({ ...appEnv, LOG_LEVEL: 'info' })
  addCleanUp('stop the worker', () => stopProcess(worker))
  const countApplied = async () =>
    Number((await bench.db.selectFrom('stripe_inbox').select((eb) => eb.fn.countAll<string>().as('n')).where('state', '=', 'applied').executeTakeFirstOrThrow()).n)
  await until('the backlog to be applied', async () => (await countApplied()) >= backlog, 20 * 60_000)
  const span = await sql<{ seconds: number }>`
    select extract(epoch from max(applied_at) - min(applied_at))::float8 as seconds from stripe_inbox where state = 'applied'`.execute(bench.db)
  const drainSeconds = Number(span.rows[0]!.seconds)
  const drainRate = backlog / drainSeconds
  // The receipts go out at Resend's rate (EMAIL_RATE_PER_SECOND, as in production) from here on,
  // so the steady phase shares the worker with them, as it would after a backlog.

  // ── 3. Latency at a steady rate ──
  log(`latency: ${STEADY_RATE} events/s for ${STEADY_SECONDS} s`)
  const steadyEvents = signed(backlog, total)
  const steadyStarted = performance.now()
  const sends: Promise<void>[] = []
  for (let index = 0; index < steadyEvents.length && !interrupted(); index++) {
    const due = steadyStarted + (index * 1000) / STEADY_RATE
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    sends.push(
      post(steadyEvents[index]!).then(
        (answer) => {
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.body.slice(0, 120)}`)
        },
        // Caught here, not left unhandled while later sends are still being scheduled.
        (error: unknown) => {
          failures.push(`no answer: ${error instanceof Error ? error.message : String(error)}`)
        },
      ),
    )
  }
  await Promise.all(sends)
  const offeredRate = steadyEvents.length / ((performance.now() - steadyStarted) / 1000)
  if (failures.length > 0) throw new Error(`${failures.length} steady deliveries failed:\n  ${failures.slice(0, 10).join('\n  ')}\nThe web server's last output:\n${server.output().slice(-4_000)}`)
  await until('the steady events to be applied', async () => (await countApplied()) >= total, 5 * 60_000)
  const latencies = (
    await sql<{ ms: number }>`
      select extract(epoch from applied_at - received_at)::float8 * 1000 as ms from stripe_inbox
      where event_id = any(${steadyEvents.map((event) => (JSON.parse(event.payload) as { id: string }).id)}::text[])`.execute(bench.db)
  ).rows
    .map((row) => Number(row.ms))
    .sort((a, b) => a - b)
  // Where the slow ones fall in the phase: p95 for each 5 s of it, by when they were stored.
  const steadyIds = steadyEvents.map((event) => (JSON.parse(event.payload) as { id: string }).id)
  const windows = await sql<{ slot: number; p95: number }>`
    with steady as (
      select received_at, applied_at, floor(extract(epoch from received_at - min(received_at) over ()) / 5)::int as slot
      from stripe_inbox where event_id = any(${steadyIds}::text[]))
    select slot, percentile_cont(0.95) within group (order by extract(epoch from applied_at - received_at) * 1000)::float8 as p95
    from steady group by slot order by slot`.execute(bench.db)
  log(`latency p95 by 5 s of the steady phase: ${windows.rows.map((row) => `${Math.round(Number(row.p95))} ms`).join(', ')}`)

  // ── Verify: every gift confirmed once, totals and receipts ──
  const check = (
    await sql<{ confirmed: number; donation_count: number; gross: number; receipts: number }>`
      select (select count(*) from donations where appeal_id = ${appeal.id} and status = 'confirmed')::int as confirmed,
             t.donation_count::int as donation_count, t.confirmed_gross_minor as gross,
             (select count(*) from email_outbox where template = 'donation-receipt')::int as receipts
      from appeal_totals t where t.appeal_id = ${appeal.id}`.execute(bench.db)
  ).rows[0]
  const problems = [
    check?.confirmed !== total && `${check?.confirmed} donations confirmed, expected ${total}`,
    check?.donation_count !== total && `appeal_totals.donation_count = ${check?.donation_count}, expected ${total}`,
    Number(check?.gross) !== expectedGross && `appeal_totals.confirmed_gross_minor = ${check?.gross}, expected ${expectedGross}`,
    check?.receipts !== total && `${check?.receipts} receipts, expected ${total}`,
  ].filter(Boolean)
  if (problems.length > 0) throw new Error(`Verification failed:\n  ${problems.join('\n  ')}`)
  log(`verified: ${total} gifts confirmed once, totals equal the events, ${total} receipts`)
  await stopProcess(worker)
  await server.stop()

  // ── pgbench on the same server, same client count ──
  const settings = (
    await sql<{ version: string; synchronous_commit: string; fsync: string }>`
      select current_setting('server_version') as version, current_setting('synchronous_commit') as synchronous_commit, current_setting('fsync') as fsync`.execute(bench.db)
  ).rows[0]
  const pgServer = new URL(BENCH_SERVER_URL)
  const connection = ['-h', pgServer.hostname, '-p', pgServer.port || '5432', '-U', decodeURIComponent(pgServer.username || 'postgres')]
  const pgEnv = { ...process.env, ...(pgServer.password ? { PGPASSWORD: decodeURIComponent(pgServer.password) } : {}) }
  const pgbenchDb = await createEmptyDatabase('pgbench')
  addCleanUp('drop the pgbench database', () => pgbenchDb.drop())
  log(`pgbench -i -s ${PGBENCH_SCALE}`)
  await runCommand('pgbench', ['-i', '-s', String(PGBENCH_SCALE), '-q', ...connection, pgbenchDb.name], { env: pgEnv })
  await checkpoint()
  const pgbenchArgs = ['-c', String(CONCURRENCY), '-j', String(Math.min(2, CONCURRENCY)), '-T', String(PGBENCH_SECONDS), '-M', 'prepared']
  log(`pgbench ${pgbenchArgs.join(' ')}`)
  const run = await runCommand('pgbench', [...pgbenchArgs, ...connection, pgbenchDb.name], { env: pgEnv })
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1])
  if (!Number.isFinite(tps)) throw new Error(`No tps in pgbench's output:\n${run.stdout}\n${run.stderr}`)

  const p50 = percentile(latencies, 50)
  const p95 = percentile(latencies, 95)
  console.log(`\nStripe webhooks, production build, PostgreSQL ${settings?.version} (synchronous_commit=${settings?.synchronous_commit}, fsync=${settings?.fsync})`)
  console.table([
    { measure: `intake: ${DRAIN} events by ${CONCURRENCY} clients (s)`, value: intakeSeconds.toFixed(2) },
    { measure: 'intake events/s', value: intakeRate.toFixed(1) },
    { measure: `drain: ${backlog} events by one worker, ${APPLY_CONCURRENCY} lanes (s)`, value: drainSeconds.toFixed(2) },
    { measure: 'drain events/s', value: drainRate.toFixed(1) },
    { measure: `steady: ${steadyEvents.length} events offered at (events/s)`, value: offeredRate.toFixed(1) },
    { measure: 'stored → applied p50 / p95 / max (ms)', value: `${p50.toFixed(1)} / ${p95.toFixed(1)} / ${latencies.at(-1)?.toFixed(1)}` },
    { measure: `pgbench tpcb-like tps (-s ${PGBENCH_SCALE} ${pgbenchArgs.join(' ')})`, value: tps.toFixed(1) },
  ])
  const verdict = (ok: boolean) => (ok ? 'target met' : 'BELOW TARGET')
  console.log(`Latency at ${STEADY_RATE} events/s: stored → applied p95 = ${p95.toFixed(1)} ms (target: under ${TARGETS.latencyP95Ms}) — ${verdict(p95 < TARGETS.latencyP95Ms)}`)
  console.log(`Drain ratio events/s ÷ pgbench tps = ${(drainRate / tps).toFixed(3)} (target: at least ${TARGETS.drain}) — ${verdict(drainRate / tps >= TARGETS.drain)}`)
  console.log(`Intake ratio events/s ÷ pgbench tps = ${(intakeRate / tps).toFixed(3)} (target: at least ${TARGETS.intake}) — ${verdict(intakeRate / tps >= TARGETS.intake)}`)
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  // BENCH_WORKER_NODE_ARGS: e.g. `--cpu-prof --cpu-prof-dir=/tmp/worker-profile` to see where the drain goes.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, compiled('worker')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000)
      if (output.includes('Worker started')) resolve(child)
    })
    child.on('exit', (code) => reject(new Error(`The worker exited (${code}) before it started:\n${output}`)))
  })
}

async function stopProcess(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const force = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(force)
}

await runBenchmark('bench:webhooks', main)
