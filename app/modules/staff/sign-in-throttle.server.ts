import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { getEnv } from '#app/utils/env.server.ts'

/**
 * Wrong staff passwords slow down guessing without ever locking anyone out (docs/decisions/020).
 *
 * Failures are counted per account AND client address together: guesses from one address at one
 * account make only that address wait at that account. The owner, from any address that has not
 * failed, signs in at once; so does an emailed link, even from the guessing address. Successes
 * are never counted: a right password clears its address's count.
 *
 * After `STAFF_SIGN_IN_FREE_FAILURES` wrong passwords each further try must wait, counted from the
 * last failure: 2 s, 4 s, 8 s … doubling up to 15 minutes. The refusal is a 429 with Retry-After
 * (not a request held open: waiting costs the attacker nothing and would cost us a connection).
 * A day without failures forgets them.
 */

export const MAX_DELAY_SECONDS = 15 * 60
export const FORGET_FAILURES_AFTER_HOURS = 24

const hash = (value: string) => createHash('sha256').update(value).digest('hex')

/** Hashes only: the table never holds an email or a client address. The typed email, known or not. */
function keys(email: string, clientIp: string) {
  return { account_key: hash(`staff-account:${normaliseEmail(email)}`), client_key: hash(`client:${clientIp}`) }
}

/** How long to wait after the last of `failures` wrong passwords (0: no wait). */
export function delayAfterFailures(failures: number, freeFailures = getEnv().STAFF_SIGN_IN_FREE_FAILURES): number {
  if (failures < freeFailures) return 0
  return Math.min(MAX_DELAY_SECONDS, 2 ** (failures - freeFailures + 1))
}

/** Seconds this address must still wait before trying a password for this account (0: go ahead). */
export async function passwordWaitSeconds(db: Database | DatabaseTransaction, email: string, clientIp: string): Promise<number> {
  const { account_key, client_key } = keys(email, clientIp)
  const row = await db
    .selectFrom('staff_sign_in_failures')
    .select(['failures', sql<number>`extract(epoch from now() - last_failed_at)::float8`.as('seconds_since')])
    .where('account_key', '=', account_key)
    .where('client_key', '=', client_key)
    .where('last_failed_at', '>', sql<Date>`now() - make_interval(hours => ${FORGET_FAILURES_AFTER_HOURS})`)
    .executeTakeFirst()
  if (!row) return 0
  return Math.max(0, Math.ceil(delayAfterFailures(row.failures) - Number(row.seconds_since)))
}

/** Counts one wrong password for this account from this address (a stale count starts again). */
export async function recordPasswordFailure(db: Database | DatabaseTransaction, email: string, clientIp: string): Promise<void> {
  await db
    .insertInto('staff_sign_in_failures')
    .values({ ...keys(email, clientIp), failures: 1 })
    .onConflict((conflict) =>
      conflict.columns(['account_key', 'client_key']).doUpdateSet({
        failures: sql<number>`case when staff_sign_in_failures.last_failed_at > now() - make_interval(hours => ${FORGET_FAILURES_AFTER_HOURS})
          then staff_sign_in_failures.failures + 1 else 1 end`,
        last_failed_at: sql<Date>`now()`,
      }),
    )
    .execute()
}

/** A right password: this address starts afresh at this account. */
export async function clearPasswordFailures(db: Database | DatabaseTransaction, email: string, clientIp: string): Promise<void> {
  const { account_key, client_key } = keys(email, clientIp)
  await db.deleteFrom('staff_sign_in_failures').where('account_key', '=', account_key).where('client_key', '=', client_key).execute()
}

/** Forgets counts nobody has added to for a day (the nightly retention job). */
export async function purgeStaleSignInFailures(db: Database): Promise<number> {
  const result = await db
    .deleteFrom('staff_sign_in_failures')
    .where('last_failed_at', '<', sql<Date>`now() - make_interval(hours => ${FORGET_FAILURES_AFTER_HOURS})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
