import { sql } from 'kysely'
import type { Database } from '#app/utils/db.server.ts'

/**
 * Bookkeeping that is not the app's data: migrations, the shared rate-limit counters, and the
 * count of wrong staff passwords (a refused sign-in exists to add to it; docs/decisions/020).
 */
const IGNORED = new Set(['public.kysely_migration', 'public.kysely_migration_lock', 'public.rate_limits', 'public.staff_sign_in_failures'])

let tables: string[] | undefined

async function appTables(db: Database) {
  if (!tables) {
    const rows = await sql<{ name: string }>`
      select format('%I.%I', table_schema, table_name) as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema in ('public', 'graphile_worker')
      order by 1`.execute(db)
    tables = rows.rows.map((row) => row.name).filter((name) => !IGNORED.has(name))
  }
  return tables
}

/**
 * Every app table's row count and a checksum of its contents (each row as text, in a fixed
 * order), in one statement: two snapshots are equal only when nothing was inserted, updated or
 * deleted anywhere, the jobs queue included.
 */
export async function snapshot(db: Database): Promise<Record<string, string>> {
  const names = await appTables(db)
  const query = names
    .map((name) => `select '${name}' as name, count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as sum from ${name} t`)
    .join(' union all ')
  const rows = await sql<{ name: string; sum: string }>`${sql.raw(query)}`.execute(db)
  return Object.fromEntries(rows.rows.map((row) => [row.name, row.sum]))
}

/** The tables whose rows differ between two snapshots, for a failure message. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after }).filter((name) => before[name] !== after[name])
}
