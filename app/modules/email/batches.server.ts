import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { renderEmails } from '#emails/index.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { FIRST_RATE_LIMIT_PAUSE_MS, retryDelayMs, scheduleBatchDelivery, type DeliveryDependencies } from './outbox.server.ts'
import type { BatchSendResult, OutgoingEmail } from './sending.ts'

/**
 * Bulk email through Resend's batch endpoint (docs/decisions/018-email-batches.md): the outbox's
 * `delivery = 'batch'` rows, up to 100 to a request, each sent exactly once.
 *
 * 1. **Form**: in one transaction, the oldest queued rows are claimed and written down as a batch
 *    with its members in request order, before anything is sent.
 * 2. **Send**: each email is rendered (once per shared content, emails/index.ts), the shared
 *    throttle gives the turn, and the batch goes with an idempotency key derived from its stored
 *    membership. A retry, in this process or another after a crash, reads the same membership,
 *    renders the same emails and sends them under the same key, so Resend answers as it did the
 *    first time and sends nothing twice (it keeps keys 24 hours, and retries stop by then).
 * 3. **Record**: Resend's permissive validation accepts the valid emails and names the invalid
 *    ones, which are marked failed with its message while the rest are sent. A batch refused
 *    whole is split in halves, each a new batch, until the email to blame is alone. Rate limits,
 *    Resend's own faults and the network leave the batch waiting for its retry, as for an email
 *    sent alone (outbox.server.ts), and after EMAIL_GIVE_UP_AFTER_HOURS its emails are failed for
 *    staff to see. The HTTP call happens outside any transaction (docs/decisions/004).
 */

export const MAX_BATCH_SIZE = 100
/**
 * A batch's claim is renewed as each request is prepared, and a request is given up after 30 s
 * (resend.server.ts), so a claim this old belongs to a process that is gone (or one that waited
 * longer than that for its turn, which then sends the same key as whoever took it over).
 */
const STALE_BATCH_CLAIM_MS = 2 * 60 * 1000
/** A retry due within this long is waited for here; a later one gets a job of its own. */
const LINGER_MS = 15 * 1000
const DEFAULT_LANES = 2

/** The worker process sending batches: its claims carry its id. */
export type BatchWorker = { id: string; startedAt: Date }

export type BatchDeliveryDependencies = DeliveryDependencies & {
  worker: BatchWorker
  /**
   * Batches in hand at once: one is rendered while another waits for its turn or its answer, so
   * the throttle's turns are not spent waiting for the renderer. More would only queue.
   */
  lanes?: number
  /** Stops between batches (graphile-worker's graceful shutdown). */
  signal?: AbortSignal
  maxBatchSize?: number
}

export type BatchTotals = { batches: number; sent: number; failed: number; suppressed: number }

type TakenBatch = { id: string; attempts: number; createdAt: Date }

/**
 * Sends batches until none is due. Emails queued meanwhile are taken too, so one run drains an
 * appeal update whatever its size. A batch whose retry is due soon is waited for; one due later
 * leaves a job for then.
 */
export async function sendEmailBatches(db: Database, dependencies: BatchDeliveryDependencies): Promise<BatchTotals> {
  const totals: BatchTotals = { batches: 0, sent: 0, failed: 0, suppressed: 0 }
  const lanes = Math.max(1, dependencies.lanes ?? DEFAULT_LANES)
  await Promise.all(Array.from({ length: lanes }, () => lane(db, dependencies, totals)))
  // Stopped half way: another worker (or this one's next start) carries on where this left off.
  if (dependencies.signal?.aborted) await scheduleBatchDelivery(db)
  return totals
}

async function lane(db: Database, dependencies: BatchDeliveryDependencies, totals: BatchTotals) {
  const now = dependencies.now ?? (() => new Date())
  while (!dependencies.signal?.aborted) {
    const taken = await takeBatch(db, dependencies)
    if (taken.kind === 'none') return
    if (taken.kind === 'later') {
      const waitMs = taken.at.getTime() - now().getTime()
      if (waitMs > LINGER_MS) {
        await scheduleBatchDelivery(db, taken.at)
        return
      }
      await sleep(Math.max(0, waitMs), dependencies.signal)
      continue
    }
    const outcome = await attemptBatch(db, taken.batch, dependencies)
    totals.batches += 1
    totals.sent += outcome.sent
    totals.failed += outcome.failed
    totals.suppressed += outcome.suppressed
  }
}

/**
 * One run at a time per worker process. graphile-worker starts another job when one is asked for
 * while a run is going (a transaction enqueueing more bulk email); that job hands its work to the
 * running one, which goes round once more before it stops, rather than taking a second worker slot
 * that receipts and sign-in links need.
 */
export function createBatchRunner() {
  let running: Promise<void> | null = null
  let again = false
  return async function runBatches(db: Database, dependencies: BatchDeliveryDependencies): Promise<void> {
    if (running) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        await sendEmailBatches(db, dependencies)
      } while (again && !dependencies.signal?.aborted)
    })()
    try {
      await running
    } finally {
      running = null
    }
  }
}

/**
 * At a worker's start and every minute (the `schedule_emails` sweep): a job for the batch sender
 * if anything is waiting for it, so a batch whose worker died, or queued rows whose job was lost,
 * are sent without waiting for new email.
 */
export async function scheduleDueBatches(db: Database, now = new Date()): Promise<void> {
  const work = await db
    .selectFrom('email_batches')
    .select((eb) => eb.fn.min('next_attempt_at').as('next'))
    .where('status', 'in', ['sending', 'waiting'])
    .executeTakeFirst()
  const queued = await db
    .selectFrom('email_outbox')
    .select('id')
    .where('status', '=', 'queued')
    .where('delivery', '=', 'batch')
    .where('job_scheduled_at', 'is not', null)
    .limit(1)
    .executeTakeFirst()
  const sending = await db.selectFrom('email_batches').select('id').where('status', '=', 'sending').limit(1).executeTakeFirst()
  if (queued || sending || (work?.next && new Date(work.next) <= now)) await scheduleBatchDelivery(db)
  else if (work?.next) await scheduleBatchDelivery(db, new Date(work.next))
}

/**
 * The idempotency key of a batch request: its id and a digest of its members in request order,
 * both read back from the database, so every attempt at the batch carries the same key, and no
 * other batch (a half of it after a split, a staff retry) ever does.
 */
export function batchIdempotencyKey(batchId: string, memberIds: readonly string[]) {
  const digest = createHash('sha256').update(memberIds.join(',')).digest('base64url').slice(0, 22)
  return `email-batch/${batchId}/${digest}`
}

async function takeBatch(
  db: Database,
  { worker, now = () => new Date(), maxBatchSize = MAX_BATCH_SIZE }: BatchDeliveryDependencies,
): Promise<{ kind: 'batch'; batch: TakenBatch } | { kind: 'later'; at: Date } | { kind: 'none' }> {
  const at = now()
  return db.transaction().execute(async (trx) => {
    // A batch due again, or one whose worker is gone: its claim is stale, or it was claimed by
    // another process before this one started (a worker killed and started again takes its batch
    // back at once; if that process is in fact alive, both send the same key and Resend sends once).
    const due = await trx
      .selectFrom('email_batches')
      .select(['id', 'attempts', 'created_at'])
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'waiting'), eb('next_attempt_at', '<=', at)]),
          eb.and([
            eb('status', '=', 'sending'),
            eb.or([
              eb('claimed_at', '<', new Date(at.getTime() - STALE_BATCH_CLAIM_MS)),
              eb.and([eb('claimed_by', '!=', worker.id), eb('claimed_at', '<=', worker.startedAt)]),
            ]),
          ]),
        ]),
      )
      .orderBy('next_attempt_at')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst()
    if (due) {
      await trx
        .updateTable('email_batches')
        .set({ status: 'sending', claimed_by: worker.id, claimed_at: at, updated_at: at })
        .where('id', '=', due.id)
        .execute()
      return { kind: 'batch' as const, batch: { id: due.id, attempts: due.attempts, createdAt: due.created_at } }
    }

    const rows = await trx
      .selectFrom('email_outbox')
      .select('id')
      .where('status', '=', 'queued')
      .where('delivery', '=', 'batch')
      .orderBy('created_at')
      .orderBy('id')
      .limit(Math.min(MAX_BATCH_SIZE, maxBatchSize))
      .forUpdate()
      .skipLocked()
      .execute()
    if (rows.length === 0) {
      const next = await trx
        .selectFrom('email_batches')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .where('status', '=', 'waiting')
        .executeTakeFirst()
      return next?.at ? { kind: 'later' as const, at: new Date(next.at) } : { kind: 'none' as const }
    }
    const batch = await trx
      .insertInto('email_batches')
      .values({ status: 'sending', claimed_by: worker.id, claimed_at: at, created_at: at, updated_at: at })
      .returning(['id', 'created_at'])
      .executeTakeFirstOrThrow()
    const ids = rows.map((row) => row.id)
    await insertMembers(trx, batch.id, ids)
    await trx.updateTable('email_outbox').set({ status: 'sending', claimed_at: at, updated_at: at }).where('id', '=', anyId(ids)).execute()
    return { kind: 'batch' as const, batch: { id: batch.id, attempts: 0, createdAt: batch.created_at } }
  })
}

type Member = { id: string; template: string; to_address: string; props: Record<string, unknown>; idempotency_key: string; status: string }

/** Renders, sends and records one batch. */
async function attemptBatch(db: Database, batch: TakenBatch, dependencies: BatchDeliveryDependencies) {
  const now = dependencies.now ?? (() => new Date())
  const counts = { sent: 0, failed: 0, suppressed: 0 }
  const members: Member[] = await db
    .selectFrom('email_batch_members as m')
    .innerJoin('email_outbox as o', 'o.id', 'm.outbox_id')
    .select(['o.id', 'o.template', 'o.to_address', 'o.props', 'o.idempotency_key', 'o.status'])
    .where('m.batch_id', '=', batch.id)
    .orderBy('m.position')
    .execute()
  // A member no longer being sent was settled elsewhere (its supporter erased, say): left out.
  const live = members.filter((member) => member.status === 'sending')
  const firstAttempt = batch.attempts === 0

  // Until the first request nothing of the batch can have gone, so it may still lose members:
  // addresses suppressed since they were queued, and emails that cannot be rendered. After that
  // its content stays what it was, so that the key and the payload keep matching.
  const suppressions = firstAttempt ? await suppressedAddresses(db, live) : new Map<string, string>()
  const rendered = await renderEmails(live.map((member) => ({ template: member.template, props: member.props })))
  const suppressed: { id: string; reason: string }[] = []
  const unrenderable: { id: string; error: string }[] = []
  const payload: OutgoingEmail[] = []
  for (const [index, member] of live.entries()) {
    const reason = suppressions.get(member.to_address.toLowerCase())
    const result = rendered[index]!
    if (reason) suppressed.push({ id: member.id, reason })
    else if (!result.ok) unrenderable.push({ id: member.id, error: `Could not render the email: ${result.error}` })
    else {
      payload.push({
        from: dependencies.from,
        ...(dependencies.replyTo ? { replyTo: dependencies.replyTo } : {}),
        to: member.to_address,
        subject: result.email.subject,
        html: result.email.html,
        text: result.email.text,
        headers: result.email.headers,
        idempotencyKey: member.idempotency_key,
        outboxId: member.id,
      })
    }
  }
  counts.suppressed = suppressed.length
  counts.failed = unrenderable.length
  const membership = firstAttempt ? payload.map((email) => email.outboxId!) : members.map((member) => member.id)

  const startedAt = now()
  const stillOurs = await db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('email_batches')
      .set({ attempts: sql`attempts + ${payload.length > 0 ? 1 : 0}`, claimed_at: startedAt, updated_at: startedAt })
      .where('id', '=', batch.id)
      .where('status', '=', 'sending')
      .where('claimed_by', '=', dependencies.worker.id)
      .returning('attempts')
      .executeTakeFirst()
    if (!claimed) return false
    if (suppressed.length > 0) {
      await settleRows(trx, suppressed.map((row) => ({ id: row.id, status: 'suppressed', error: `Not sent: the address ${row.reason}` })), startedAt)
    }
    if (unrenderable.length > 0) await settleRows(trx, unrenderable.map((row) => ({ id: row.id, status: 'failed', error: row.error })), startedAt)
    // From the first request on, the stored membership is exactly what was sent: the key of every
    // later attempt is derived from it.
    const leftOut = members.filter((member) => !membership.includes(member.id)).map((member) => member.id)
    if (firstAttempt && leftOut.length > 0) {
      await trx.deleteFrom('email_batch_members').where('batch_id', '=', batch.id).where('outbox_id', '=', anyId(leftOut)).execute()
    }
    if (payload.length === 0) {
      await finishBatch(trx, batch.id, firstAttempt ? 'deleted' : 'failed', 'No email left to send in this batch', startedAt)
      return false
    }
    await trx
      .updateTable('email_outbox')
      .set({ attempts: sql`attempts + 1`, claimed_at: startedAt, updated_at: startedAt })
      .where('id', '=', anyId(payload.map((email) => email.outboxId!)))
      .execute()
    return true
  })
  if (!stillOurs) return counts
  // The turn comes last, so that the request follows it at once: Resend counts a request when it
  // arrives, and one that lags behind its turn could fall in the next one's second.
  await dependencies.throttle?.wait('batch')

  const idempotencyKey = batchIdempotencyKey(batch.id, membership)
  // A sender that throws (a bug, the mailbox table refusing a value) is a refusal to retry later.
  const result: BatchSendResult = await dependencies.sender
    .sendBatch({ emails: payload, idempotencyKey })
    .catch((error: unknown) => ({ kind: 'retry' as const, error: `The sender failed: ${(error as Error).message}` }))
  if (result.kind === 'retry' && result.rateLimited) dependencies.throttle?.pause(result.retryAfterMs ?? FIRST_RATE_LIMIT_PAUSE_MS)

  const finishedAt = now()
  const ids = payload.map((email) => email.outboxId!)
  await db.transaction().execute(async (trx) => {
    if (result.kind === 'sent' || result.kind === 'already-accepted') {
      // What Resend accepted is recorded whoever holds the claim now: it is what happened.
      const items =
        result.kind === 'sent'
          ? result.results.map((item, index) => ({ id: ids[index]!, ...item }))
          : ids.map((id) => ({ id, outcome: 'sent' as const, providerMessageId: null }))
      const sent = items.filter((item) => item.outcome === 'sent')
      const refused = items.flatMap((item) => (item.outcome === 'failed' ? [{ id: item.id, status: 'failed' as const, error: item.error }] : []))
      await recordSent(trx, sent.map((item) => ({ id: item.id, providerMessageId: item.outcome === 'sent' ? item.providerMessageId : null })), finishedAt, result.kind === 'already-accepted' ? result.error : null)
      if (refused.length > 0) await settleRows(trx, refused, finishedAt)
      counts.sent += sent.length
      counts.failed += refused.length
      await finishBatch(trx, batch.id, 'sent', refused.length > 0 ? `${refused.length} of ${items.length} refused: ${refused[0]!.error}` : null, finishedAt, false)
      return
    }
    if (!(await holdsClaim(trx, batch.id, dependencies.worker.id))) return
    if (result.kind === 'invalid' && ids.length > 1) {
      await splitBatch(trx, batch.id, ids, result.error, finishedAt)
      return
    }
    if (result.kind === 'invalid' || result.kind === 'failed') {
      await settleRows(trx, ids.map((id) => ({ id, status: 'failed', error: result.error })), finishedAt)
      counts.failed += ids.length
      await finishBatch(trx, batch.id, 'failed', result.error, finishedAt)
      return
    }
    const attempts = batch.attempts + 1
    const retryAt = new Date(finishedAt.getTime() + retryDelayMs(attempts, result.retryAfterMs, dependencies.random))
    if (retryAt.getTime() - batch.createdAt.getTime() > dependencies.giveUpAfterMs) {
      const error = `Gave up after ${attempts} attempts: ${result.error}`
      await settleRows(trx, ids.map((id) => ({ id, status: 'failed', error })), finishedAt)
      counts.failed += ids.length
      await finishBatch(trx, batch.id, 'failed', error, finishedAt)
      return
    }
    await trx
      .updateTable('email_batches')
      .set({ status: 'waiting', next_attempt_at: retryAt, last_error: result.error, claimed_by: null, updated_at: finishedAt })
      .where('id', '=', batch.id)
      .execute()
    // Staff and the logs see each email's state, as for one sent alone.
    await trx.updateTable('email_outbox').set({ last_error: result.error, next_attempt_at: retryAt, updated_at: finishedAt }).where('id', '=', anyId(ids)).execute()
  })
  return counts
}

async function suppressedAddresses(db: Database, members: Member[]) {
  if (members.length === 0) return new Map<string, string>()
  const rows = await db
    .selectFrom('email_suppressions')
    .select(['email', 'reason'])
    .where('email', '=', sql<string>`any(${[...new Set(members.map((member) => member.to_address.toLowerCase()))]}::text[])`)
    .execute()
  return new Map(rows.map((row) => [row.email, row.reason]))
}

async function holdsClaim(trx: DatabaseTransaction, batchId: string, workerId: string) {
  const row = await trx
    .selectFrom('email_batches')
    .select('id')
    .where('id', '=', batchId)
    .where('status', '=', 'sending')
    .where('claimed_by', '=', workerId)
    .forUpdate()
    .executeTakeFirst()
  return row !== undefined
}

/** Rows of a batch that end without being sent; a row settled elsewhere meanwhile is left alone. */
async function settleRows(trx: DatabaseTransaction, rows: { id: string; status: 'failed' | 'suppressed'; error: string }[], at: Date) {
  await sql`
    update email_outbox as o
    set status = r.status, last_error = r.error, next_attempt_at = null, claimed_at = null, updated_at = ${at}
    from unnest(${rows.map((row) => row.id)}::uuid[], ${rows.map((row) => row.status)}::text[], ${rows.map((row) => row.error)}::text[]) as r(id, status, error)
    where o.id = r.id and o.status = 'sending'`.execute(trx)
}

async function recordSent(trx: DatabaseTransaction, rows: { id: string; providerMessageId: string | null }[], at: Date, note: string | null) {
  if (rows.length === 0) return
  await sql`
    update email_outbox as o
    set status = 'sent', sent_at = ${at}, provider_message_id = r.provider_message_id, last_error = ${note},
        next_attempt_at = null, claimed_at = null, updated_at = ${at}
    from unnest(${rows.map((row) => row.id)}::uuid[], ${rows.map((row) => row.providerMessageId)}::text[]) as r(id, provider_message_id)
    where o.id = r.id and o.status = 'sending'`.execute(trx)
}

async function finishBatch(
  trx: DatabaseTransaction,
  batchId: string,
  status: 'sent' | 'failed' | 'deleted',
  error: string | null,
  at: Date,
  onlyIfClaimed = true,
) {
  if (status === 'deleted') {
    await trx.deleteFrom('email_batches').where('id', '=', batchId).execute()
    return
  }
  let update = trx
    .updateTable('email_batches')
    .set({ status, last_error: error, claimed_by: null, next_attempt_at: null, updated_at: at, ...(status === 'sent' ? { sent_at: at } : {}) })
    .where('id', '=', batchId)
  if (onlyIfClaimed) update = update.where('status', '=', 'sending')
  else update = update.where('status', '!=', 'sent')
  await update.execute()
}

/**
 * Resend refused the request whole (400 or 422), so something in it is malformed; with permissive
 * validation that is not one bad address, which it would have named, but one of the emails may
 * still be to blame. The halves become new batches, due at once, each with its own membership and
 * key: nothing of this one was sent, and its key is never used again.
 */
async function splitBatch(trx: DatabaseTransaction, batchId: string, ids: string[], error: string, at: Date) {
  await trx
    .updateTable('email_batches')
    .set({ status: 'split', last_error: error, claimed_by: null, updated_at: at })
    .where('id', '=', batchId)
    .execute()
  const middle = Math.ceil(ids.length / 2)
  for (const half of [ids.slice(0, middle), ids.slice(middle)]) {
    const { id } = await trx
      .insertInto('email_batches')
      .values({ status: 'waiting', next_attempt_at: at, last_error: error, created_at: at, updated_at: at })
      .returning('id')
      .executeTakeFirstOrThrow()
    await insertMembers(trx, id, half)
  }
}

/** A batch's members, in request order. */
async function insertMembers(trx: DatabaseTransaction, batchId: string, outboxIds: string[]) {
  await sql`
    insert into email_batch_members (batch_id, position, outbox_id)
    select ${batchId}::uuid, (member.position - 1)::smallint, member.id
    from unnest(${outboxIds}::uuid[]) with ordinality as member(id, position)`.execute(trx)
}

/**
 * `= any(array)` rather than `in (…)`: one statement text whatever the batch's size, so the pool
 * prepares it once (docs/decisions/009).
 */
function anyId(ids: string[]) {
  return sql<string>`any(${ids}::uuid[])`
}

function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}
