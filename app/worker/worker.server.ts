import { createTaskList, CRONTAB, PAYMENTS_CRONTAB } from './tasks.server.ts'
import { startWorker } from '#app/modules/jobs/jobs.server.ts'
import { APPLY_STRIPE_EVENTS_TASK, startStripeInboxSweep } from '#app/modules/payments/stripe-inbox.server.ts'
import { scheduleDueBatches } from '#app/modules/email/batches.server.ts'
import { getDatabaseUrl, getDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

export type AppWorker = {
  /** Finishes the jobs in flight, then stops. */
  stop: () => Promise<void>
  /** Settles when the worker has stopped. */
  promise: Promise<void>
}

/**
 * Starts the background worker on the app's database (real or embedded): two graphile-worker
 * runners in one process. Applying Stripe's events has a runner of its own, so that payments
 * never wait behind other jobs: receipts sent at Resend's rate after a burst of gifts hold every
 * slot of the general runner for as long as they take (docs/decisions/019).
 */
export async function startAppWorker(): Promise<AppWorker> {
  const env = getEnv()
  const connectionString = await getDatabaseUrl()
  const { [APPLY_STRIPE_EVENTS_TASK]: applyStripeEvents, ...otherTasks } = createTaskList()
  if (!applyStripeEvents) throw new Error(`The task list has no ${APPLY_STRIPE_EVENTS_TASK}`)
  const general = await startWorker({ connectionString, concurrency: env.WORKER_CONCURRENCY, taskList: otherTasks, crontab: CRONTAB })
  // One job at a time is enough: the task applies in STRIPE_APPLY_CONCURRENCY lanes itself.
  const payments = await startWorker({ connectionString, concurrency: 1, taskList: { [APPLY_STRIPE_EVENTS_TASK]: applyStripeEvents }, crontab: PAYMENTS_CRONTAB })
  // Cron runs at most once a minute; Stripe events whose wake-up was lost should wait seconds.
  const stopSweep = startStripeInboxSweep(getDb())
  const promise = Promise.all([general.promise, payments.promise]).then(() => undefined)
  void promise.finally(stopSweep)
  // A batch a stopped (or killed) worker was sending is taken back now, not at the next sweep.
  await scheduleDueBatches(getDb())
  return {
    promise,
    stop: async () => {
      stopSweep()
      await Promise.all([general.stop(), payments.stop()])
    },
  }
}
