import { sql } from 'kysely'
import { isBatchTemplate, parseEmailProps, renderEmail, type EmailTemplateName } from '#emails/index.ts'
import type { EmailAttachment } from '#db/schema.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import type { EmailSender, SendResult } from './sender.server.ts'
import type { Throttle } from './throttle.server.ts'

/**
 * The email outbox (docs/decisions/004-email-outbox.md). A business change and its email are
 * written in one transaction; a graphile-worker job, added in that same transaction, delivers it:
 * `send_email` for an email sent alone, or `send_email_batches` for the emails that go up to 100
 * to a request (batches.server.ts, docs/decisions/018-email-batches.md).
 */

export const SEND_EMAIL_TASK = 'send_email'
export const SEND_EMAIL_BATCHES_TASK = 'send_email_batches'
/** Unexpected errors (a bug, the database gone) are retried by graphile-worker this many times. */
const MAX_JOB_ATTEMPTS = 10
/** A claim older than this belongs to a worker that died mid-send; the email may be taken again. */
const STALE_CLAIM_MS = 5 * 60 * 1000
const FIRST_RETRY_MS = 30 * 1000
/** A 429 without Retry-After holds this process's requests back this long (Resend's window is a second). */
export const FIRST_RATE_LIMIT_PAUSE_MS = 1000
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
  return (await enqueueEmails(trx, [email]))[0]!
}

/**
 * Many emails in one statement (an appeal update enqueues its supporters 200 at a time): as
 * enqueueEmail for each, answering in the same order.
 */
export async function enqueueEmails(trx: DatabaseTransaction, emails: EnqueueEmail[]): Promise<{ id: string; created: boolean }[]> {
  if (emails.length === 0) return []
  const jobAfterCommit = jobsAfterCommit.has(trx)
  const rows = [...new Map(emails.map((email) => [email.idempotencyKey, email])).values()].map((email) => ({
    template: email.template,
    idempotency_key: email.idempotencyKey,
    to_address: email.to,
    props: JSON.stringify(parseEmailProps(email.template, email.props)),
    attachments: JSON.stringify(email.attachments ?? []),
    job_scheduled_at: jobAfterCommit ? null : sql<Date>`now()`,
    delivery: emailDelivery(email.template, email.attachments ?? []),
  }))
  const inserted = await trx
    .insertInto('email_outbox')
    .values(rows)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'idempotency_key', 'delivery'])
    .execute()
  const created = new Map(inserted.map((row) => [row.idempotency_key, row]))
  const missing = rows.filter((row) => !created.has(row.idempotency_key)).map((row) => row.idempotency_key)
  const existing = new Map(
    missing.length === 0
      ? []
      : (await trx.selectFrom('email_outbox').select(['id', 'idempotency_key']).where('idempotency_key', 'in', missing).execute()).map((row) => [
          row.idempotency_key,
          row.id,
        ]),
  )
  if (!jobAfterCommit) {
    for (const row of inserted) if (row.delivery === 'single') await scheduleDelivery(trx, row.id)
    if (inserted.some((row) => row.delivery === 'batch') && !batchJobAdded.has(trx)) {
      // One job for all of a transaction's bulk emails.
      batchJobAdded.add(trx)
      await scheduleBatchDelivery(trx)
    }
  }
  return emails.map((email) => {
    const row = created.get(email.idempotencyKey)
    return row ? { id: row.id, created: true } : { id: existing.get(email.idempotencyKey)!, created: false }
  })
}

/**
 * News, alerts and event notices go through Resend's batch endpoint, up to 100 to a request;
 * an email with attachments (a calendar file, a QR code ticket) cannot, and goes alone, as does
 * every transactional email (a receipt, a sign-in link), which someone is waiting for.
 */
export function emailDelivery(template: string, attachments: EmailAttachment[]): 'single' | 'batch' {
  return isBatchTemplate(template) && attachments.length === 0 ? 'batch' : 'single'
}

const batchJobAdded = new WeakSet<DatabaseTransaction>()

/**
 * Asks for the batch sender to run: now, or at `runAt` for a batch waiting to be retried. One job
 * key each way, so a burst of enqueued emails is one job, and a retry time never pushes back a
 * run that was asked for now. A job already running keeps going: graphile-worker adds a new one
 * beside it, which the running one's process folds into its own (batches.server.ts).
 */
export async function scheduleBatchDelivery(db: Database | DatabaseTransaction, runAt?: Date) {
  await addJob(db, SEND_EMAIL_BATCHES_TASK, {}, {
    jobKey: runAt ? `${SEND_EMAIL_BATCHES_TASK}:later` : SEND_EMAIL_BATCHES_TASK,
    runAt,
    maxAttempts: MAX_JOB_ATTEMPTS,
  })
}

/** Transactions whose emails get their delivery jobs after the commit (see below). */
const jobsAfterCommit = new WeakSet<DatabaseTransaction>()

/**
 * For busy transactions (webhooks): emails enqueued in `trx` are written without a delivery job,
 * and the caller calls `scheduleQueuedEmailsSoon` once it has committed. graphile-worker's add_job
 * sends a NOTIFY, and PostgreSQL commits notifying transactions one at a time, so a job per
 * webhook would make every webhook wait for the others' commits (docs/decisions/009). If the
 * process dies between the commit and the scheduling, the worker's minute sweep schedules them.
 */
export function addEmailJobsAfterCommit(trx: DatabaseTransaction) {
  jobsAfterCommit.add(trx)
}

/** Emails a transaction holds back to write together (queueEmail), until writeQueuedEmails. */
const heldEmails = new WeakMap<DatabaseTransaction, EnqueueEmail[]>()

/**
 * For transactions that apply many events at once (the Stripe inbox's batches): emails queued in
 * `trx` with queueEmail are held and written in one statement by writeQueuedEmails, which the
 * caller must run before it commits. One INSERT for a batch's receipts instead of one each.
 */
export function holdQueuedEmails(trx: DatabaseTransaction) {
  if (!heldEmails.has(trx)) heldEmails.set(trx, [])
}

/** Writes what queueEmail held in `trx` (holdQueuedEmails); nothing when nothing is held. */
export async function writeQueuedEmails(trx: DatabaseTransaction) {
  const held = heldEmails.get(trx)
  if (!held || held.length === 0) return
  heldEmails.set(trx, [])
  await enqueueEmails(trx, held)
}

/**
 * An email whose row nobody reads back in the transaction (a receipt): held for one statement
 * with the others when the transaction holds emails (holdQueuedEmails), else enqueued at once.
 */
export async function queueEmail(trx: DatabaseTransaction, email: EnqueueEmail): Promise<void> {
  const held = heldEmails.get(trx)
  if (held) {
    held.push(email)
    return
  }
  await enqueueEmail(trx, email)
}

export const SCHEDULE_EMAILS_TASK = 'schedule_emails'
const SCHEDULE_BATCH = 500

/**
 * Adds the delivery jobs of emails that have none yet, in batches of up to 500 in one
 * transaction each (one NOTIFY per batch). Safe to run in several processes at once: rows being
 * scheduled elsewhere are skipped, and each job's key is the email's own. Returns how many.
 */
export async function scheduleQueuedEmails(db: Database): Promise<number> {
  let scheduled = 0
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const picked = await trx
        .selectFrom('email_outbox')
        .select(['id', 'delivery'])
        .where('job_scheduled_at', 'is', null)
        .orderBy('created_at')
        .limit(SCHEDULE_BATCH)
        .forUpdate()
        .skipLocked()
        .execute()
      if (picked.length === 0) return 0
      await trx.updateTable('email_outbox').set({ job_scheduled_at: sql`now()` }).where('id', 'in', picked.map((row) => row.id)).execute()
      const single = picked.filter((row) => row.delivery === 'single').map((row) => row.id)
      if (single.length > 0) {
        await sql`
          select graphile_worker.add_jobs(array(
            select row(${SEND_EMAIL_TASK}::text, json_build_object('outboxId', id), null::text, null::timestamptz,
                       ${MAX_JOB_ATTEMPTS}::smallint, 'email:' || id, null::smallint, null::text[])::graphile_worker.job_spec
            from unnest(${single}::uuid[]) as id
          ))`.execute(trx)
      }
      if (single.length < picked.length) await scheduleBatchDelivery(trx)
      return picked.length
    })
    scheduled += batch
    if (batch < SCHEDULE_BATCH) return scheduled
  }
}

let runningSchedule: Promise<unknown> | null = null
let nextSchedule: Promise<unknown> | null = null

/** Settles once every scheduling run started so far has finished (tests wait on it). */
export function emailSchedulingSettled(): Promise<unknown> {
  return nextSchedule ?? runningSchedule ?? Promise.resolve()
}

/**
 * Schedules the delivery jobs of emails committed before this call. Calls that arrive while a
 * run is going share one more run after it, so a burst of webhooks makes a few batches, not one
 * NOTIFY each. Never throws: a failure is logged and the worker's sweep catches up.
 */
export function scheduleQueuedEmailsSoon(db: Database, onError: (error: unknown) => void): Promise<unknown> {
  if (!runningSchedule) {
    runningSchedule = scheduleQueuedEmails(db)
      .catch(onError)
      .finally(() => {
        runningSchedule = null
      })
    return runningSchedule
  }
  nextSchedule ??= runningSchedule.then(() => {
    nextSchedule = null
    return scheduleQueuedEmailsSoon(db, onError)
  })
  return nextSchedule
}

async function scheduleDelivery(db: Database | DatabaseTransaction, outboxId: string, runAt?: Date) {
  await addJob(db, SEND_EMAIL_TASK, { outboxId }, { jobKey: `email:${outboxId}`, runAt, maxAttempts: MAX_JOB_ATTEMPTS })
}

export type DeliveryDependencies = {
  sender: EmailSender
  from: string
  replyTo?: string
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
    // Bulk emails are the batch sender's (batches.server.ts), never sent alone as well.
    .where('delivery', '=', 'single')
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
    ...(dependencies.replyTo ? { replyTo: dependencies.replyTo } : {}),
    to: email.to_address,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    attachments: email.attachments,
    headers: rendered.headers,
    idempotencyKey: email.idempotency_key,
    outboxId,
  }).catch((error: unknown) => ({ kind: 'retry' as const, error: `The sender failed: ${(error as Error).message}` }))

  // Resend counts requests per team: when it says slow down, nobody in this process asks sooner.
  if (result.kind === 'retry' && result.rateLimited) dependencies.throttle?.pause(result.retryAfterMs ?? FIRST_RATE_LIMIT_PAUSE_MS)

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

/**
 * Staff: send a failed email again. One sent alone keeps its idempotency key; a bulk one goes in a
 * new batch, whose key is new: Resend refused it or never answered for a day, and keeps a key
 * for only 24 hours anyway.
 */
export async function retryEmail(db: Database, outboxId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('email_outbox')
      .set({ status: 'queued', last_error: null, next_attempt_at: null, retry_window_started_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', outboxId)
      .where('status', '=', 'failed')
      .returning(['id', 'delivery'])
      .executeTakeFirst()
    if (!updated) return false
    if (updated.delivery === 'batch') await scheduleBatchDelivery(trx)
    else await scheduleDelivery(trx, outboxId)
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
