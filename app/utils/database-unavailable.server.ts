/**
 * Whether an error means "the database cannot be reached" rather than "this query is wrong": the
 * connection was refused, dropped or timed out, or the server is shutting down or not yet taking
 * connections. Such a request is answered 503 with Retry-After (app/entry.server.tsx) instead of
 * Remix's 500, because trying again in a minute is the right advice and nothing was written: a
 * transaction whose connection died is rolled back by PostgreSQL.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return matches(error, 0)
}

/** What the 503 answers tell clients and load balancers; the page says "in a minute". */
export const DATABASE_RETRY_AFTER_SECONDS = 60

/** Errors from the operating system's network stack (connect, read, write, DNS). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * SQLSTATEs sent by the server about the connection itself: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting
 * down, in recovery) and 53300 too_many_connections.
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300'])

/** `pg` reports a lost or unusable connection with these messages and no code. */
const PG_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
]

function matches(error: unknown, depth: number): boolean {
  // A cause chain or an AggregateError (several addresses tried) is followed a few levels only.
  if (depth > 4 || typeof error !== 'object' || error === null) return false
  const { code, message, cause, errors } = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true
  }
  if (typeof message === 'string' && PG_MESSAGES.some((known) => message === known || message.startsWith(`${known}:`))) return true
  if (Array.isArray(errors) && errors.some((inner) => matches(inner, depth + 1))) return true
  return cause !== undefined && matches(cause, depth + 1)
}
