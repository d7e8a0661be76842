import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, expect, test } from 'vitest'
import { startEmbeddedDatabase } from '#app/utils/embedded-database.server.ts'

const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-embedded-'))
afterAll(() => rm(folder, { recursive: true, force: true }))

async function query(url: string, text: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text)).rows
  } finally {
    await client.end()
  }
}

test('keeps its data on disk across restarts, and a second opener borrows the running server', async () => {
  const dataDir = path.join(folder, 'pglite')
  const first = await startEmbeddedDatabase({ dataDir })
  expect(first.owned).toBe(true)
  await query(first.url, 'create table kept (value text)')
  await query(first.url, "insert into kept values ('still here')")

  // Opening the same files twice would corrupt them; the second caller gets the same server.
  const second = await startEmbeddedDatabase({ dataDir })
  expect(second.owned).toBe(false)
  expect(second.url).toBe(first.url)
  await first.stop()

  const reopened = await startEmbeddedDatabase({ dataDir })
  expect(reopened.owned).toBe(true)
  expect(await query(reopened.url, 'select value from kept')).toEqual([{ value: 'still here' }])
  await reopened.stop()
})

test('transactions from several pooled connections stay isolated and serialised', async () => {
  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://' })
  const pool = new pg.Pool({ connectionString: embedded.url, max: 5 })
  try {
    await pool.query('create table counter (n int)')
    await pool.query('insert into counter values (0)')
    await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const client = await pool.connect()
        try {
          await client.query('begin')
          const { rows } = await client.query<{ n: number }>('select n from counter for update')
          await new Promise((resolve) => setTimeout(resolve, 2))
          await client.query('update counter set n = $1', [rows[0]!.n + 1])
          await client.query(index % 4 === 0 ? 'rollback' : 'commit')
        } finally {
          client.release()
        }
      }),
    )
    expect((await pool.query('select n from counter')).rows).toEqual([{ n: 15 }])
  } finally {
    await pool.end()
    await embedded.stop()
  }
})

test('parameterised queries from many connections at once each get their own answer', async () => {
  const embedded = await startEmbeddedDatabase({ dataDir: 'memory://' })
  const pool = new pg.Pool({ connectionString: embedded.url, max: 10 })
  try {
    // Outside a transaction, each query is Parse, Bind, Execute, Sync on one shared PGlite
    // backend: the messages of two connections must never interleave.
    // Three different statements, with different numbers of parameters, so a Bind that reached
    // another connection's statement would fail or answer wrongly.
    const ask = async (index: number) => {
      if (index % 3 === 0) return (await pool.query('select $1::int as n', [index])).rows[0]
      if (index % 3 === 1) return (await pool.query('select $1::int as n, $2::text as label', [index, `q${index}`])).rows[0]
      return (await pool.query("select $1::int + 0 as n, 'x' || $2::text || $3::text as label", [index, 'q', String(index)])).rows[0]
    }
    const expected = (index: number) =>
      index % 3 === 0 ? { n: index } : index % 3 === 1 ? { n: index, label: `q${index}` } : { n: index, label: `xq${index}` }
    const answers = await Promise.all(Array.from({ length: 300 }, (_, index) => ask(index)))
    expect(answers).toEqual(Array.from({ length: 300 }, (_, index) => expected(index)))
  } finally {
    await pool.end()
    await embedded.stop()
  }
})
