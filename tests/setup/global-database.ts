import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { installJobQueue } from '#app/modules/jobs/jobs.server.ts'
import { startEmbeddedDatabase } from '#app/utils/embedded-database.server.ts'
import { migrateToLatest } from '#db/migrate.server.ts'
import { databaseUrlWithName, TEST_DATABASE_PREFIX } from './database-names.ts'

/**
 * Migrates one database for the whole run; every test file then starts from its own copy:
 * `CREATE DATABASE … TEMPLATE` on a real server, a data-directory dump loaded into PGlite otherwise.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl) {
    const template = `${TEST_DATABASE_PREFIX}template_${randomBytes(4).toString('hex')}`
    await adminQuery(serverUrl, `create database ${template}`)
    await migrate(databaseUrlWithName(serverUrl, template))
    project.provide('postgresTemplate', { serverUrl, template })
    project.provide('pgliteDumpPath', null)
    return async () => {
      await adminQuery(serverUrl, `drop database if exists ${template} with (force)`)
    }
  }

  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://' })
  await migrate(embedded.url)
  const dump = await embedded.dump!()
  await embedded.stop()
  const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-test-'))
  const dumpPath = path.join(folder, 'migrated.tar.gz')
  await writeFile(dumpPath, new Uint8Array(await dump.arrayBuffer()))
  project.provide('postgresTemplate', null)
  project.provide('pgliteDumpPath', dumpPath)
  return async () => {
    await rm(folder, { recursive: true, force: true })
  }
}

async function migrate(url: string) {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) })
  try {
    await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
  await installJobQueue(url)
}

export async function adminQuery(serverUrl: string, statement: string) {
  const client = new pg.Client({ connectionString: databaseUrlWithName(serverUrl, 'postgres') })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}
