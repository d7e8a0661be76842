import { sql } from 'kysely'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { rateLimitKey } from '#app/utils/rate-limit.server.ts'

type Trx = DatabaseTransaction

/**
 * How many unpaid holds may be open at once for one event (ADR 023). A hold keeps places for at
 * least Stripe's 30 minutes, so without a limit one person could keep most of an event from
 * everyone else by starting checkouts and never paying. One email address may have one open hold
 * per event; one client address (its hash) the event's own limit, else UNPAID_HOLDS_PER_CLIENT,
 * which is generous because a table at a dinner books from one Wi-Fi.
 */
export const UNPAID_HOLDS_PER_EMAIL = 1

export type HoldLimitCheck = { outcome: 'allowed' } | { outcome: 'refused'; reason: 'email' | 'client'; limit: number; retryAfterSeconds: number }

/** The hash a hold keeps of its client address: the same one the rate limits key on. */
export function holdClientKey(clientIp: string) {
  return rateLimitKey(clientIp)
}

/**
 * Checks, inside the registration's transaction, whether one more hold of `quantity` places may
 * open. It first locks the event's row as the place-taking UPDATE would a moment later, so two
 * requests from one address cannot both count the holds before either writes its own: the second
 * counts after the first commits. A registration that would not get places (it waits) holds
 * nothing and is always allowed.
 */
export async function checkHoldLimits(
  trx: Trx,
  hold: { eventId: string; email: string; clientKey: string; quantity: number },
  now = new Date(),
): Promise<HoldLimitCheck> {
  const event = await trx
    .selectFrom('events')
    .select(['capacity', 'places_taken', 'unpaid_holds_per_client'])
    .where('id', '=', hold.eventId)
    .forNoKeyUpdate()
    .executeTakeFirstOrThrow()
  if (event.places_taken + hold.quantity > event.capacity) return { outcome: 'allowed' }
  const { rows } = await sql<{ by_email: number; by_client: number; email_ends: Date | null; client_ends: Date | null }>`
    select
      count(*) filter (where lower(email) = lower(${hold.email}))::int as by_email,
      count(*) filter (where client_key = ${hold.clientKey})::int as by_client,
      min(hold_expires_at) filter (where lower(email) = lower(${hold.email})) as email_ends,
      min(hold_expires_at) filter (where client_key = ${hold.clientKey}) as client_ends
    from registrations
    where event_id = ${hold.eventId} and status = 'held'
      and (lower(email) = lower(${hold.email}) or client_key = ${hold.clientKey})`.execute(trx)
  const counts = rows[0]!
  const retryAfter = (ends: Date | null) => Math.max(1, Math.ceil(((ends ? new Date(ends).getTime() : now.getTime()) - now.getTime()) / 1000))
  if (counts.by_email >= UNPAID_HOLDS_PER_EMAIL) {
    return { outcome: 'refused', reason: 'email', limit: UNPAID_HOLDS_PER_EMAIL, retryAfterSeconds: retryAfter(counts.email_ends) }
  }
  const limit = event.unpaid_holds_per_client ?? getEnv().UNPAID_HOLDS_PER_CLIENT
  if (counts.by_client >= limit) return { outcome: 'refused', reason: 'client', limit, retryAfterSeconds: retryAfter(counts.client_ends) }
  return { outcome: 'allowed' }
}

/** The retention job's part: a hold's address hash is needed while it is open; it is kept a day. */
export async function forgetHoldClientKeys(db: Database, now = new Date()) {
  const cleared = await db
    .updateTable('registrations')
    .set({ client_key: null })
    .where('client_key', 'is not', null)
    .where('created_at', '<', new Date(now.getTime() - 24 * 60 * 60 * 1000))
    .executeTakeFirst()
  return Number(cleared.numUpdatedRows)
}
