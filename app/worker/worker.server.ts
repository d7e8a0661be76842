import type { Runner } from '#app/modules/jobs/jobs.server.ts'
import { createTaskList, CRONTAB } from './tasks.server.ts'
import { startWorker } from '#app/modules/jobs/jobs.server.ts'
import { getDatabaseUrl } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/** Starts the background worker on the app's database (real or embedded). */
export async function startAppWorker(): Promise<Runner> {
  const env = getEnv()
  return startWorker({
    connectionString: await getDatabaseUrl(),
    concurrency: env.WORKER_CONCURRENCY,
    taskList: createTaskList(),
    crontab: CRONTAB,
  })
}
