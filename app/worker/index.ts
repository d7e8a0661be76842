import { closeDb } from '#app/utils/db.server.ts'
import { EnvError, getEnv } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { prepareDatabase } from '#app/server/prepare-database.server.ts'
import { startAppWorker } from './worker.server.ts'

/**
 * `npm run worker`: the background worker as its own process, so several web servers can share
 * one pool of workers. Stops cleanly on SIGTERM: jobs in flight finish first.
 */
try {
  getEnv()
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`The worker cannot start.\n${error.message}`)
    process.exit(1)
  }
  throw error
}
const logger = getLogger()
await prepareDatabase({ seed: false })
const runner = await startAppWorker()
logger.info('Worker started')

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'Worker stopping: finishing jobs in flight')
    await runner.stop()
    await closeDb()
    process.exit(0)
  })
}
await runner.promise
