/**
 * `npm run bench:email`: the cost of the email outbox on real PostgreSQL.
 * 1. Enqueue overhead: N business transactions (a new supporter) with and without their email.
 * 2. Delivery rate: the worker drains the outbox against a local fake of Resend, throttle off.
 * 3. Bulk: an appeal update to 10,000 opted-in supporters (BENCH_BULK_EMAILS), sent by the worker
 *    as its own process (`app/worker/index.ts`) through Resend's batch endpoint to a fake Resend
 *    HTTP server on 127.0.0.1 that enforces EMAIL_RATE_PER_SECOND (2) requests a second with 429
 *    and Retry-After. The worker is killed (SIGKILL) half way and started again. Measured: from
 *    posting the update to the last email accepted; emails a second against the limit (100 × the
 *    request rate), which must be at least 0.8; and that each supporter was sent it exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { postAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'
import { setupServer } from 'msw/node'
import { emailTemplates } from '#emails/index.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { closeDb } from '#app/utils/db.server.ts'
import { resendHandlers, resendCalls } from '#tests/mocks/resend.ts'
import { createBenchDatabase } from './bench-database.ts'
import { positiveInteger } from './bench-env.ts'
import { startFakeResendServer } from './fake-resend-server.ts'

const N = Number(process.env.BENCH_EMAILS ?? 2_000)
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 10)

process.env.LOG_LEVEL = 'warn'
const bench = await createBenchDatabase('email')
const network = setupServer(...resendHandlers)
network.listen({ onUnhandledRequest: 'error' })
process.env.DATABASE_URL = bench.url
process.env.RESEND_API_KEY = 're_bench_key'
process.env.EMAIL_RATE_PER_SECOND = '0'
process.env.WORKER_CONCURRENCY = String(CONCURRENCY)
resetEnvForTests()

const props = emailTemplates['donation-receipt'].previewProps as Record<string, unknown>

async function businessTransactions(withEmail: boolean, label: string) {
  const started = performance.now()
  for (let index = 0; index < N; index++) {
    await bench.db.transaction().execute(async (trx) => {
      await trx.insertInto('supporters').values({ name: `${label} ${index}` }).execute()
      if (withEmail) {
        await enqueueEmail(trx, {
          template: 'donation-receipt',
          to: `bench-${index}@example.org`,
          props,
          idempotencyKey: `donation-receipt/bench-${index}`,
        })
      }
    })
  }
  return performance.now() - started
}

// Warm the pool and the plans, then measure.
await businessTransactions(false, 'warm-up')
const withoutEmailMs = await businessTransactions(false, 'plain')
const withEmailMs = await businessTransactions(true, 'with-email')

const { startAppWorker } = await import('#app/worker/worker.server.ts')
const drainStarted = performance.now()
const worker = await startAppWorker()
for (;;) {
  const { count } = await bench.db
    .selectFrom('email_outbox')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow()
  if (Number(count) >= N) break
  await new Promise((resolve) => setTimeout(resolve, 50))
}
const drainMs = performance.now() - drainStarted
await worker.stop()

console.log(`\nEmail outbox on ${new URL(bench.url).host} (PostgreSQL), N = ${N}, worker concurrency ${CONCURRENCY}, throttle off`)
console.table([
  { measure: 'business transaction alone', 'ms per transaction': (withoutEmailMs / N).toFixed(3) },
  { measure: 'business transaction + enqueue email', 'ms per transaction': (withEmailMs / N).toFixed(3) },
  { measure: 'enqueue overhead', 'ms per transaction': ((withEmailMs - withoutEmailMs) / N).toFixed(3) },
])
console.log(`Delivery: ${N} emails in ${(drainMs / 1000).toFixed(2)} s = ${(N / (drainMs / 1000)).toFixed(0)} emails/s (Resend calls seen: ${resendCalls.length})`)

network.close()

// ── 3. Bulk: an appeal update to 10,000 supporters through the batch endpoint ──────────────────
const BULK = positiveInteger('BENCH_BULK_EMAILS', 10_000)
const RATE = positiveInteger('EMAIL_RATE_PER_SECOND_BENCH', 2)
const LATENCY_MS = Number(process.env.BENCH_RESEND_LATENCY_MS ?? 200)
const resend = await startFakeResendServer({ ratePerSecond: RATE, latencyMs: LATENCY_MS })

const [appeal] = (
  await sql<{ id: string }>`
    insert into appeals (slug, title, summary, beneficiary_name, story_markdown, currency, goal_minor, status)
    values ('bench-bulk', 'Help Yusuf walk again', 'A bench appeal', 'Yusuf', 'Story', 'GBP', 1000000, 'published')
    returning id`.execute(bench.db)
).rows
await sql`
  with people as (
    insert into supporters (email, name)
    select 'supporter-' || n || '@example.org', 'Supporter ' || n from generate_series(1, ${BULK}::int) as n
    returning id
  )
  insert into donations (appeal_id, supporter_id, frequency, amount_minor, currency, status, updates_opt_in)
  select ${appeal!.id}::uuid, id, 'one_off', 2500, 'GBP', 'confirmed', true from people`.execute(bench.db)

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/worker/index.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: bench.url,
      RESEND_API_KEY: 're_bench_key',
      RESEND_BASE_URL: resend.url,
      EMAIL_RATE_PER_SECOND: String(RATE),
      WORKER_CONCURRENCY: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Worker started')) resolve(child)
    })
    child.on('exit', (code) => reject(new Error(`The worker exited (${code}) before it started`)))
  })
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('The bulk send took too long')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

let child = await startWorker()
const postedAt = Date.now()
await postAppealUpdate(bench.db, appeal!.id, { title: 'Yusuf has his new leg', bodyMarkdown: 'Thanks to you, Yusuf walked to the end of his street.', email: true }, { staffUserId: null })
let enqueuedAt = 0
const enqueued = until(async () => {
  const { count } = await bench.db
    .selectFrom('email_outbox')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('template', '=', 'appeal-update')
    .executeTakeFirstOrThrow()
  enqueuedAt = Date.now()
  return Number(count) >= BULK
}, 600_000)
await until(() => resend.fake.sent.length >= BULK / 2, 600_000)
child.kill('SIGKILL')
const killedAt = Date.now()
const sentWhenKilled = resend.fake.sent.length
await new Promise((resolve) => child.once('exit', resolve))
child = await startWorker()
const restartedAt = Date.now()
await until(async () => {
  const { count } = await bench.db
    .selectFrom('email_outbox')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('template', '=', 'appeal-update')
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow()
  return Number(count) >= BULK
}, 600_000)
await enqueued
child.kill('SIGTERM')
await new Promise((resolve) => child.once('exit', resolve))

// Exactly once: every supporter received it once, and the outbox agrees with what Resend accepted.
const received = resend.fake.timesSent()
const twice = [...received].filter(([, times]) => times > 1)
const outbox = await bench.db.selectFrom('email_outbox').select(['to_address', 'status', 'provider_message_id']).where('template', '=', 'appeal-update').execute()
const acceptedIds = new Set(resend.fake.sent.map((email) => email.id))
const problems = [
  received.size !== BULK && `${received.size} of ${BULK} supporters received it`,
  twice.length > 0 && `${twice.length} supporters received it more than once`,
  outbox.length !== BULK && `${outbox.length} outbox rows, not ${BULK}`,
  outbox.some((row) => row.status !== 'sent' || !row.provider_message_id || !acceptedIds.has(row.provider_message_id)) &&
    'an outbox row is not sent with an id Resend gave',
].filter(Boolean)

const lastAcceptedAt = Math.max(...resend.fake.sent.map((email) => email.at))
const seconds = (lastAcceptedAt - postedAt) / 1000
const emailsPerSecond = BULK / seconds
const limit = RATE * 100
const batchRequests = resend.fake.requests.filter((request) => request.path === '/emails/batch')
console.log(`\nBulk: an appeal update to ${BULK} supporters through the batch endpoint, fake Resend at ${RATE} requests/s (${LATENCY_MS} ms an answer), worker killed half way`)
console.table([
  { measure: 'time from posting the update to the last email accepted', value: `${seconds.toFixed(2)} s` },
  { measure: 'every email in the outbox after (the worker enqueues them, 200 a transaction)', value: `${((enqueuedAt - postedAt) / 1000).toFixed(2)} s` },
  { measure: 'worker killed (SIGKILL) after', value: `${sentWhenKilled} emails, ${((killedAt - postedAt) / 1000).toFixed(2)} s` },
  { measure: 'worker started again in', value: `${((restartedAt - killedAt) / 1000).toFixed(2)} s` },
  { measure: 'batch requests (accepted / 429 / other)', value: `${batchRequests.length} (${batchRequests.filter((r) => r.status === 200).length} / ${batchRequests.filter((r) => r.status === 429).length} / ${batchRequests.filter((r) => r.status !== 200 && r.status !== 429).length})` },
  { measure: 'answered from the idempotency key (resent after the kill)', value: resend.fake.replays },
  { measure: 'emails received once / more than once / never', value: `${[...received.values()].filter((times) => times === 1).length} / ${twice.length} / ${BULK - received.size}` },
  { measure: 'emails per second', value: emailsPerSecond.toFixed(1) },
  { measure: `limit (${RATE} requests/s × 100)`, value: limit },
])
await resend.close()
await closeDb()
await bench.drop()
if (problems.length > 0) {
  console.error(`Not exactly once: ${problems.join('; ')}`)
  process.exitCode = 1
}
const ratio = emailsPerSecond / limit
if (ratio < 0.8) process.exitCode = 1
console.log(`Bulk send rate ÷ limit: ${ratio.toFixed(3)} (${emailsPerSecond.toFixed(1)} emails/s against ${limit}; at least 0.8 wanted)`)
