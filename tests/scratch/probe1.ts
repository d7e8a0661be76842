import pg from 'pg'
import { startEmbeddedDatabase } from '/work/main/app/utils/embedded-database.server.ts'
const t0 = Date.now()
const emb = await startEmbeddedDatabase({ dataDir: 'memory://' })
console.log('started', Date.now() - t0, emb.url)
const pool = new pg.Pool({ connectionString: emb.url, max: 5 })
await pool.query('create table t (id int primary key, n int)')
await pool.query('insert into t values (1, 0)')
// interleaved transactions from several connections
const work = Array.from({ length: 20 }, async (_, i) => {
  const c = await pool.connect()
  try {
    await c.query('begin')
    const r = await c.query('select n from t where id = 1 for update')
    await new Promise((r) => setTimeout(r, 5))
    await c.query('update t set n = $1 where id = 1', [r.rows[0].n + 1])
    if (i % 5 === 0) { await c.query('rollback') } else await c.query('commit')
  } finally { c.release() }
})
await Promise.all(work)
console.log((await pool.query('select n from t')).rows, 'expected 16')
console.log((await pool.query('select version()')).rows[0])
await pool.end(); await emb.stop(); console.log('total', Date.now() - t0)
