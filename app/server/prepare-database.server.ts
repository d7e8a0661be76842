import { installJobQueue } from '#app/modules/jobs/jobs.server.ts'
import { migrateToLatest } from '#db/migrate.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { getDatabaseUrl, getDb } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'

/**
 * Brings the database up to date: our migrations, then graphile-worker's schema (both take
 * locks, so several instances may do this at once), then the demo data when asked.
 */
export async function prepareDatabase(options: { seed: boolean }) {
  const logger = getLogger()
  const db = getDb()
  const { results } = await migrateToLatest(db)
  const applied = results?.filter((result) => result.status === 'Success').length ?? 0
  if (applied > 0) logger.info({ applied }, 'Applied database migrations')
  await installJobQueue(await getDatabaseUrl())
  if (options.seed) {
    const { seeded } = await seedDemoData(db)
    if (seeded) logger.info('Loaded the demo data into the empty database')
  }
}
