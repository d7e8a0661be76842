import { sql } from 'kysely'
import { parseEmailProps, renderEmail, type EmailTemplateName } from '#emails/index.ts'
import type { EmailAttachment } from '#db/schema.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import type { EmailSender, SendResult } from './sender.server.ts'
import type { Throttle } from './throttle.server.ts'

/**
 * The email outbox (docs/decisions/004-email-outbox.md). A business change and its email are
 * written in one transaction; a graphile-worker job, added in that same transaction, delivers it.
 */

export const SEND_EMAIL_TASK = 'send_email'
/** Unexpected errors (a bug, the database gone) are retried by graphile-worker this many times. */
const MAX_JOB_ATTEMPTS = 10
/** A claim older than this belongs to a worker that died mid-send; the email may be taken again. */
const STALE_CLAIM_MS = 5 * 60 * 1000
const FIRST_RETRY_MS = 30 * 1000
const LONGEST_RETRY_MS = 60 * 60 * 1000

export type EnqueueEmail = {
  template: EmailTemplateName
  to: string
  props: Record<string, unknown>
  /** `<kind>/<entity id>`, e.g. `donation-receipt/3f2c…`: one email per key, ever. */
  idempotencyKey: string
  attachments?: EmailAttachment[]
}

/**
 * Writes an email to the outbox inside the caller's transaction. Enqueuing the same key twice
 * keeps the first email and adds nothing. Invalid props throw, so the business change rolls back
 * with them rather than leaving an email that can never be rendered.
 */
export async function enqueueEmail(
  trx: DatabaseTransaction,
  email: EnqueueEmail,
): Promise<{ id: string; created: boolean }> {
  const props = parseEmailProps(email.template, email.props)
  const inserted = await trx
    .insertInto('email_outbox')
    .values({
      template: email.template,
      idempotency_key: email.idempotencyKey,
      to_address: email.to,
      props: JSON.stringify(props),
      attachments: JSON.stringify(email.attachments ?? []),
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .executeTakeFirst()
  if (!inserted) {
    const existing = await trx
      .selectFrom('email_outbox')
      .select('id')
      .where('idempotency_key', '=', email.idempotencyKey)
      .executeTakeFirstOrThrow()
    return { id: existing.id, created: false }
  }
  await scheduleDelivery(trx, inserted.id)
  return { id: inserted.id, created: true }
}

async function scheduleDelivery(db: Database | DatabaseTransaction, outboxId: string, runAt?: Date) {
  await addJob(db, SEND_EMAIL_TASK, { outboxId }, { jobKey: `email:${outboxId}`, runAt, maxAttempts: MAX_JOB_ATTEMPTS })
}

export type DeliveryDependencies = {
  sender: EmailSender
  from: string
  throttle?: Throttle
  giveUpAfterMs: number
  now?: () => Date
  /** Jitter for the back-off, between 0 and 1; tests pass a constant. */
  random?: () => number
}

export type DeliveryOutcome =
  | { outcome: 'sent'; providerMessageId: string }
  | { outcome: 'retry'; retryAt: Date; error: string }
  | { outcome: 'failed'; error: string }
  | { outcome: 'suppressed' }
  | { outcome: 'not-claimed' }

/**
 * When Resend says when to come back (Retry-After), we come back then; otherwise we back off
 * exponentially from 30 s to an hour, with jitter so that many emails do not retry in step.
 */
export function retryDelayMs(attempts: number, retryAfterMs: number | undefined, random = Math.random) {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, LONGEST_RETRY_MS)
  const exponential = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1))
  return Math.round(exponential * (0.8 + 0.4 * random()))
}

/**
 * Delivers one outbox email: claims it (so two workers never both send it), skips suppressed
 * addresses, renders it, waits for the throttle, sends it with its idempotency key, and records
 * the outcome. A temporary refusal schedules the next attempt; after `giveUpAfterMs` the email is
 * marked failed with its last error, for staff to see and retry.
 */
export async function deliverOutboxEmail(
  db: Database,
  outboxId: string,
  dependencies: DeliveryDependencies,
): Promise<DeliveryOutcome> {
  const now = dependencies.now ?? (() => new Date())
  const claimedAt = now()
  const email = await db
    .updateTable('email_outbox')
    .set({ status: 'sending', attempts: sql`attempts + 1`, claimed_at: claimedAt, updated_at: claimedAt })
    .where('id', '=', outboxId)
    .where((eb) =>
      eb.or([
        eb('status', '=', 'queued'),
        eb.and([eb('status', '=', 'sending'), eb('claimed_at', '<', new Date(claimedAt.getTime() - STALE_CLAIM_MS))]),
      ]),
    )
    .returningAll()
    .executeTakeFirst()
  if (!email) return { outcome: 'not-claimed' }

  const suppressed = await db
    .selectFrom('email_suppressions')
    .select('reason')
    .where('email', '=', email.to_address.toLowerCase())
    .executeTakeFirst()
  if (suppressed) {
    await finish(db, outboxId, { status: 'suppressed', last_error: `Not sent: the address ${suppressed.reason}` }, now())
    return { outcome: 'suppressed' }
  }

  let rendered: Awaited<ReturnType<typeof renderEmail>>
  try {
    rendered = await renderEmail(email.template as EmailTemplateName, email.props)
  } catch (error) {
    const message = `Could not render the email: ${(error as Error).message}`
    await finish(db, outboxId, { status: 'failed', last_error: message }, now())
    return { outcome: 'failed', error: message }
  }

  await dependencies.throttle?.wait()
  // A sender that throws (a bug, the mailbox table refusing a value) is treated like a refusal to
  // retry later, so the email goes back to the queue rather than waiting out a stale claim.
  const result: SendResult = await dependencies.sender.send({
    from: dependencies.from,
    to: email.to_address,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    attachments: email.attachments,
    idempotencyKey: email.idempotency_key,
    outboxId,
  }).catch((error: unknown) => ({ kind: 'retry' as const, error: `The sender failed: ${(error as Error).message}` }))

  const finishedAt = now()
  if (result.kind === 'sent') {
    await finish(
      db,
      outboxId,
      { status: 'sent', sent_at: finishedAt, provider_message_id: result.providerMessageId, last_error: null, next_attempt_at: null },
      finishedAt,
    )
    return { outcome: 'sent', providerMessageId: result.providerMessageId }
  }
  if (result.kind === 'failed') {
    await finish(db, outboxId, { status: 'failed', last_error: result.error, next_attempt_at: null }, finishedAt)
    return { outcome: 'failed', error: result.error }
  }

  const retryAt = new Date(finishedAt.getTime() + retryDelayMs(email.attempts, result.retryAfterMs, dependencies.random))
  if (retryAt.getTime() - email.retry_window_started_at.getTime() > dependencies.giveUpAfterMs) {
    const error = `Gave up after ${email.attempts} attempts: ${result.error}`
    await finish(db, outboxId, { status: 'failed', last_error: error, next_attempt_at: null }, finishedAt)
    return { outcome: 'failed', error }
  }
  await db.transaction().execute(async (trx) => {
    await finish(trx, outboxId, { status: 'queued', last_error: result.error, next_attempt_at: retryAt }, finishedAt)
    await scheduleDelivery(trx, outboxId, retryAt)
  })
  return { outcome: 'retry', retryAt, error: result.error }
}

async function finish(
  db: Database | DatabaseTransaction,
  outboxId: string,
  changes: {
    status: 'sent' | 'failed' | 'queued' | 'suppressed'
    last_error?: string | null
    sent_at?: Date
    provider_message_id?: string
    next_attempt_at?: Date | null
  },
  at: Date,
) {
  await db
    .updateTable('email_outbox')
    .set({ ...changes, claimed_at: null, updated_at: at })
    .where('id', '=', outboxId)
    .execute()
}

/** Staff: send a failed email again, with the same idempotency key. */
export async function retryEmail(db: Database, outboxId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('email_outbox')
      .set({ status: 'queued', last_error: null, next_attempt_at: null, retry_window_started_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', outboxId)
      .where('status', '=', 'failed')
      .returning('id')
      .executeTakeFirst()
    if (!updated) return false
    await scheduleDelivery(trx, outboxId)
    return true
  })
}

export function listFailedEmails(db: Database, limit = 100) {
  return db
    .selectFrom('email_outbox')
    .select(['id', 'template', 'to_address', 'status', 'attempts', 'last_error', 'created_at', 'updated_at'])
    .where('status', '=', 'failed')
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute()
}
