import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { startEmbeddedDatabase } from '../../app/utils/embedded-database.server.ts'
import { migrateToLatest } from '../../db/migrate.server.ts'
const emb = await startEmbeddedDatabase({ dataDir: 'memory://' })
for (const url of [emb.url, 'postgres://postgres@127.0.0.1:5432/postgres']) {
  const admin = new pg.Client({ connectionString: url }); await admin.connect()
  let target = url
  if (!url.includes(String(emb.url.split(':').pop()))) { await admin.query('drop database if exists probe'); await admin.query('create database probe'); target = url.replace(/postgres$/, 'probe') }
  await admin.end()
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target }) }) })
  const t = Date.now(); const r = await migrateToLatest(db); console.log(url, r.results?.map(x => x.status), Date.now() - t, 'ms')
  await db.destroy()
}
await emb.stop()
