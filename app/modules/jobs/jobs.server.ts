import { Logger, parseCrontab, run, runMigrations, type Runner, type TaskList } from 'graphile-worker'
import { sql } from 'kysely'
import { isPglite, type Database, type DatabaseTransaction } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'

/** graphile-worker's own types, for the wiring that starts a worker: only this file imports the SDK. */
export type { Runner, TaskList }

/**
 * Background jobs run on graphile-worker (docs/decisions/004-email-outbox.md). Jobs are added
 * with SQL inside the caller's transaction, so a job exists exactly when the change that asked
 * for it was committed.
 */

export type JobOptions = {
  /** One job per key: adding a job with a key that is waiting replaces it. */
  jobKey?: string
  runAt?: Date
  maxAttempts?: number
  queueName?: string
}

export async function addJob(
  db: Database | DatabaseTransaction,
  task: string,
  payload: Record<string, unknown>,
  options: JobOptions = {},
): Promise<void> {
  await sql`
    select graphile_worker.add_job(
      ${task},
      payload := ${JSON.stringify(payload)}::json,
      queue_name := ${options.queueName ?? null}::text,
      run_at := ${options.runAt ?? null}::timestamptz,
      max_attempts := ${options.maxAttempts ?? null}::smallint,
      job_key := ${options.jobKey ?? null}::text
    )`.execute(db)
}

function workerLogger() {
  const logger = getLogger().child({ component: 'worker' })
  return new Logger(() => (level, message, meta) => {
    const fields = { job: (meta as { job?: { task_identifier?: string; id?: string } })?.job?.task_identifier }
    if (level === 'error') logger.error(fields, message)
    else if (level === 'warning') logger.warn(fields, message)
    // graphile-worker logs every completed job at "info": that is debug detail for us.
    else logger.debug(fields, message)
  })
}


/** Creates or updates graphile-worker's own schema; part of every migration run. */
export async function installJobQueue(connectionString: string) {
  const embedded = await isPglite(connectionString)
  await runMigrations({ connectionString, noPreparedStatements: embedded, logger: workerLogger() })
}

export async function startWorker(options: {
  connectionString: string
  taskList: TaskList
  concurrency?: number
  crontab?: string
  pollInterval?: number
}): Promise<Runner> {
  const embedded = await isPglite(options.connectionString)
  return run({
    connectionString: options.connectionString,
    noPreparedStatements: embedded,
    concurrency: options.concurrency ?? 2,
    pollInterval: options.pollInterval ?? (embedded ? 1_000 : 2_000),
    noHandleSignals: true,
    taskList: options.taskList,
    // An explicit (possibly empty) schedule, so the worker never looks for a crontab file.
    parsedCronItems: parseCrontab(options.crontab ?? ''),
    logger: workerLogger(),
    // A job's completion is written through graphile-worker's batcher, which retries a dropped
    // connection (and stops the worker cleanly if the database stays away); unbatched, one reset
    // connection at that moment was an unhandled rejection.
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  })
}
