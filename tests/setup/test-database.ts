import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { afterAll, inject } from 'vitest'
import { closeDb } from '#app/utils/db.server.ts'
import { startEmbeddedDatabase } from '#app/utils/embedded-database.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { databaseUrlWithName, TEST_DATABASE_PREFIX } from './database-names.ts'
import { adminQuery } from './global-database.ts'

/**
 * Each test file gets a fresh, migrated database of its own, and the app reaches it the way it
 * reaches any database: through DATABASE_URL and a `pg` pool.
 */
const postgres = inject('postgresTemplate')
const dumpPath = inject('pgliteDumpPath')

let cleanUp: () => Promise<void>

if (postgres) {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(6).toString('hex')}`
  await adminQuery(postgres.serverUrl, `create database ${name} template ${postgres.template}`)
  process.env.DATABASE_URL = databaseUrlWithName(postgres.serverUrl, name)
  cleanUp = () => adminQuery(postgres.serverUrl, `drop database if exists ${name} with (force)`)
} else if (dumpPath) {
  const dump = new Blob([await readFile(dumpPath)])
  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://', loadDataDir: dump })
  process.env.DATABASE_URL = embedded.url
  cleanUp = () => embedded.stop()
} else {
  throw new Error('The global database setup did not run')
}
resetEnvForTests()

afterAll(async () => {
  await closeDb()
  await cleanUp()
})
