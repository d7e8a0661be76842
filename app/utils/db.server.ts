import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect, type Transaction } from 'kysely'
import pg from 'pg'
import type { DB } from '#db/schema.ts'
import { isEmbeddedDatabaseUrl, startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-database.server.ts'
import { getEnv } from './env.server.ts'
import { singleton, takeSingleton } from './singleton.server.ts'

export type Database = Kysely<DB>
export type DatabaseTransaction = Transaction<DB>

const INT8_OID = 20
const INT8_ARRAY_OID = 1016

/**
 * Money is stored as bigint minor units. Every amount we handle is far below 2^53, so int8 comes
 * back as a JS number; a value that would lose precision is an error, never a silent rounding.
 */
function parseInt8(value: string): number {
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`int8 value ${value} is not a safe integer`)
  return parsed
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8
    if (oid === INT8_ARRAY_OID && format !== 'binary') {
      const parseArray = pg.types.getTypeParser(INT8_ARRAY_OID as never, 'text') as (value: string) => (string | null)[]
      return (value: string) => parseArray(value).map((item) => (item === null ? null : parseInt8(item)))
    }
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/**
 * How long a query waits for a connection: to open one (a server that does not answer would
 * otherwise hold the request for minutes of TCP retries) or for a free one in a full pool. Past
 * it the request fails with "timeout exceeded when trying to connect" and is answered 503.
 */
export const CONNECTION_TIMEOUT_MS = 5_000

export function createPool(connectionString: string, max = 10, options: { prepareStatements?: boolean } = {}) {
  const pool = new pg.Pool({ connectionString, max, types, idleTimeoutMillis: 30_000, connectionTimeoutMillis: CONNECTION_TIMEOUT_MS })
  // An idle client losing its server (restart, network) must not crash the process.
  pool.on('error', () => {})
  // Nor may one in use: pg emits 'error' on the client as well as failing its query, and with no
  // listener that is an uncaught exception. The failed query is what the request sees (a 503).
  pool.on('connect', (client) => client.on('error', () => {}))
  if (options.prepareStatements) pool.on('connect', prepareStatements)
  return pool
}

/** Beyond this many different statements on one connection, new ones run unnamed. */
const MAX_PREPARED_PER_CONNECTION = 500

/**
 * Runs each parameterised statement as a named prepared statement, so PostgreSQL parses and plans
 * a query text once per connection rather than on every call (what `pgbench -M prepared` does);
 * planning was a quarter of the database's time per webhook. Kysely calls `query(text, values)`.
 */
function prepareStatements(client: pg.PoolClient) {
  const names = new Map<string, string>()
  // Moves on when a migration changed what a prepared `select *` returns (PostgreSQL then refuses
  // it with 0A000): the statements are prepared afresh under new names from the next call on.
  let generation = 0
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      let name = names.get(text)
      if (name === undefined && names.size < MAX_PREPARED_PER_CONNECTION) {
        name = `sanad_${generation}_${createHash('sha1').update(text).digest('base64url')}`
        names.set(text, name)
      }
      if (name !== undefined) {
        return (query({ name, text, values }) as Promise<unknown>).catch((error: unknown) => {
          if ((error as { code?: string }).code === '0A000') {
            names.clear()
            generation += 1
          }
          throw error
        })
      }
    }
    return query(text, values, callback)
  }) as typeof client.query
}

export function createDatabase(pool: pg.Pool | (() => Promise<pg.Pool>)): Database {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
}

/** The embedded database of this process, started on first use. */
export function getEmbeddedDatabase(): Promise<EmbeddedDatabase> {
  return singleton('embedded-database', () =>
    startEmbeddedDatabase({ dataDir: getEnv().PGLITE_DIR }),
  )
}

/** The connection string every part of the app uses: the real server, or the embedded one. */
export async function getDatabaseUrl(): Promise<string> {
  const env = getEnv()
  return env.DATABASE_URL ?? (await getEmbeddedDatabase()).url
}

type DatabaseHandle = { db: Database; pool: Promise<pg.Pool> }

function handle(): DatabaseHandle {
  return singleton('database', () => {
    const env = getEnv()
    // Not on the embedded database: it serves every connection from one session, where two
    // connections preparing the same name would collide.
    const pool = getDatabaseUrl().then((url) =>
      createPool(url, env.DATABASE_POOL_MAX, { prepareStatements: env.DATABASE_PREPARED_STATEMENTS && !isEmbeddedDatabaseUrl(url) }),
    )
    // Kysely asks for the pool on first query, so importing this module never touches the database.
    return { db: createDatabase(() => pool), pool }
  })
}

/** The app's database. Route loaders and actions pass it to module functions. */
export function getDb(): Database {
  return handle().db
}

/** Whether the database answers; used by /healthz. */
export async function pingDatabase(timeoutMs = 2_000): Promise<boolean> {
  const pool = await handle().pool
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  const ping = pool.query('select 1').then(
    () => true,
    () => false,
  )
  try {
    return await Promise.race([ping, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Closes the pool and, when this process owns it, the embedded database. */
export async function closeDb() {
  const database = takeSingleton<DatabaseHandle>('database')
  if (database) await database.db.destroy()
  const embedded = takeSingleton<Promise<EmbeddedDatabase>>('embedded-database')
  if (embedded) await (await embedded).stop()
}

/** Text typed into a search box, for a LIKE pattern: its wildcards are searched for, not obeyed. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&')
}

/**
 * PGlite is one PostgreSQL backend behind every socket connection, so named prepared statements
 * from two connections collide there; graphile-worker must not use them on it.
 */
export async function isPglite(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>('select version()')
    return rows[0]?.version.includes('PGlite') ?? false
  } finally {
    await client.end()
  }
}
