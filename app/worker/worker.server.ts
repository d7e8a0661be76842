import type { Runner } from '#app/modules/jobs/jobs.server.ts'
import { createTaskList, CRONTAB } from './tasks.server.ts'
import { startWorker } from '#app/modules/jobs/jobs.server.ts'
import { startStripeInboxSweep } from '#app/modules/payments/stripe-inbox.server.ts'
import { scheduleDueBatches } from '#app/modules/email/batches.server.ts'
import { getDatabaseUrl, getDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/** Starts the background worker on the app's database (real or embedded). */
export async function startAppWorker(): Promise<Runner> {
  const env = getEnv()
  const runner = await startWorker({
    connectionString: await getDatabaseUrl(),
    concurrency: env.WORKER_CONCURRENCY,
    taskList: createTaskList(),
    crontab: CRONTAB,
  })
  // Cron runs at most once a minute; Stripe events whose wake-up was lost should wait seconds.
  const stopSweep = startStripeInboxSweep(getDb())
  void runner.promise.finally(stopSweep)
  // A batch a stopped (or killed) worker was sending is taken back now, not at the next sweep.
  await scheduleDueBatches(getDb())
  return runner
}
