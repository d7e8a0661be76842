/** Test databases on a real server share this prefix, so a crashed run's leftovers are easy to find. */
export const TEST_DATABASE_PREFIX = 'sanad_test_'

export function databaseUrlWithName(url: string, name: string) {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Real PostgreSQL: the server URL and the migrated template database to copy. */
    postgresTemplate: { serverUrl: string; template: string } | null
    /** Embedded PGlite: a file holding a dump of a migrated data directory. */
    pgliteDumpPath: string | null
  }
}
