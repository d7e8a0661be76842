import { sql } from 'kysely'
import { z } from 'zod'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'

/**
 * Supporters: one row per email address, made or found by upsertSupporter, and the address rule
 * every form and lookup shares (trimmed, compared case-insensitively).
 */


/** The address the form takes: trimmed, compared case-insensitively everywhere. */
export const supporterEmailSchema = z
  .string({ required_error: 'Enter the supporter’s email address' })
  .trim()
  .min(1, 'Enter the supporter’s email address')
  .max(254, 'The email address must be 254 characters or fewer')
  .email('Enter the email address in the right format, like name@example.org')

/**
 * The one way a supporter row is found or made for an address: supporters are one per address
 * (a unique index on lower(email)), so two requests with one address meet on that index. The
 * upsert locks the row, so concurrent callers wait for each other and find the same supporter.
 * `replaceName` keeps the name the person typed last (a donation); otherwise the first one stays.
 */
export async function upsertSupporter(
  trx: DatabaseTransaction,
  supporter: { email: string; name?: string | null; replaceName?: boolean },
): Promise<string> {
  const result = supporter.replaceName
    ? await sql<{ id: string }>`
        insert into supporters (email, name) values (${supporter.email}, ${supporter.name ?? null})
        on conflict ((lower(email))) do update set name = excluded.name, updated_at = now()
        returning id`.execute(trx)
    : await sql<{ id: string }>`
        insert into supporters (email, name) values (${supporter.email}, ${supporter.name ?? null})
        on conflict ((lower(email))) do update set updated_at = now()
        returning id`.execute(trx)
  return result.rows[0]!.id
}
