import { sql } from 'kysely'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'

/**
 * The emails a stranger can make us send by typing an address into a public form: a free
 * registration's confirmation or waitlist email, "you already have a place", and a saved-events
 * link. They are the templates the daily limit counts (and migration 0024's index covers).
 */
export const FORM_EMAIL_TEMPLATES = ['registration-confirmed', 'waitlist-joined', 'registration-exists', 'saved-events-link'] as const
/** Which form wanted to send: for the log line, which never names the address. */
export type EmailingForm = 'registration' | 'registration-exists' | 'saved-events-link'

/**
 * Whether a public form may send one more email to this address now (docs/decisions/021). An
 * address its owner has confirmed is not limited; any other gets UNCONFIRMED_EMAILS_PER_DAY form
 * emails in 24 hours, counted in the outbox (so every web server counts the same rows) under a
 * lock on the address, so two forms at once cannot both take the last one. Over the limit the
 * caller carries on as if it had sent (the form's answer must not say which happened) and the
 * refusal is logged, without the address.
 */
export async function mayEmailUnconfirmed(trx: DatabaseTransaction, email: string, form: EmailingForm): Promise<boolean> {
  const address = normaliseEmail(email)
  await sql`select pg_advisory_xact_lock(hashtextextended(${`form-email:${address}`}, 0))`.execute(trx)
  // One statement for both questions: this runs inside every free registration's transaction.
  const { rows } = await sql<{ confirmed: boolean; sent: string }>`
    select
      exists (select 1 from supporters where lower(email) = ${address} and email_confirmed_at is not null) as confirmed,
      (select count(*) from email_outbox
        where lower(to_address) = ${address}
          and template in (${sql.join(FORM_EMAIL_TEMPLATES.map((name) => sql.lit(name)))})
          and created_at > now() - interval '1 day') as sent`.execute(trx)
  const { confirmed, sent } = rows[0]!
  if (confirmed || Number(sent) < getEnv().UNCONFIRMED_EMAILS_PER_DAY) return true
  getLogger().warn({ form, limit: getEnv().UNCONFIRMED_EMAILS_PER_DAY }, 'Form email not sent: the address is unconfirmed and had its daily limit')
  return false
}

/** The person showed they read this address: its form emails are no longer limited. */
export async function markEmailConfirmed(trx: DatabaseTransaction, supporterId: string) {
  await trx
    .updateTable('supporters')
    .set({ email_confirmed_at: sql<Date>`coalesce(email_confirmed_at, now())` })
    .where('id', '=', supporterId)
    .execute()
}
