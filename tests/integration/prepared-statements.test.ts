import { sql } from 'kysely'
import { afterAll, expect, test } from 'vitest'
import { createDatabase, createPool } from '#app/utils/db.server.ts'
import { isEmbeddedDatabaseUrl } from '#app/utils/embedded-database.server.ts'

const url = process.env.DATABASE_URL!
// One connection, so every query meets the statements the previous ones prepared.
const pool = createPool(url, 1, { prepareStatements: true })
const db = createDatabase(pool)
afterAll(() => db.destroy())

test.skipIf(isEmbeddedDatabaseUrl(url))('a prepared `select *` recovers after a migration adds a column', async () => {
  await sql`create table prepared_probe (id int primary key, name text)`.execute(db)
  await sql`insert into prepared_probe values (1, 'one')`.execute(db)
  const read = () => db.selectFrom('prepared_probe' as never).selectAll().where('id' as never, '=', 1 as never).execute()
  expect(await read()).toEqual([{ id: 1, name: 'one' }])
  const { rows } = await sql<{ count: number }>`select count(*)::int as count from pg_prepared_statements where name like 'sanad_%'`.execute(db)
  expect(rows[0]!.count).toBeGreaterThan(0)

  await sql`alter table prepared_probe add column extra text`.execute(db)
  // PostgreSQL refuses a prepared statement whose result columns changed; that one call fails...
  await expect(read()).rejects.toMatchObject({ code: '0A000' })
  // ...and the next is prepared afresh.
  expect(await read()).toEqual([{ id: 1, name: 'one', extra: null }])
})
