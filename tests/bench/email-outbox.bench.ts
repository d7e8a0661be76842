/**
 * `npm run bench:email`: the cost of the email outbox on real PostgreSQL.
 * 1. Enqueue overhead: N business transactions (a new supporter) with and without their email.
 * 2. Delivery rate: the worker drains the outbox against a local fake of Resend, throttle off.
 */
import { performance } from 'node:perf_hooks'
import { setupServer } from 'msw/node'
import { emailTemplates } from '#emails/index.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { closeDb } from '#app/utils/db.server.ts'
import { resendHandlers, resendCalls } from '#tests/mocks/resend.ts'
import { createBenchDatabase } from './bench-database.ts'

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
await closeDb()
await bench.drop()
