import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { installJobQueue } from '#app/modules/jobs/jobs.server.ts'
import { createDatabase, createPool, type Database } from '#app/utils/db.server.ts'
import { migrateToLatest } from '#db/migrate.server.ts'

/** A fresh, migrated database on the benchmark server (PostgreSQL at 127.0.0.1:5432 by default). */
export async function createBenchDatabase(prefix: string): Promise<{ url: string; db: Database; drop: () => Promise<void> }> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `sanad_bench_${prefix}_${randomBytes(3).toString('hex')}`
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    await client.query(statement).finally(() => client.end())
  }
  await admin(`create database ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const db = createDatabase(createPool(url.toString(), 20))
  await migrateToLatest(db)
  await installJobQueue(url.toString())
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy()
      await admin(`drop database if exists ${name} with (force)`)
    },
  }
}

export function printTable(rows: Record<string, string | number>[]) {
  console.table(rows)
}
