import { sql } from 'kysely'
import { addEmailJobsAfterCommit, holdQueuedEmails, scheduleQueuedEmailsSoon, writeQueuedEmails } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { isPermanentFailure } from '#app/utils/database-errors.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { invalidatePublicPages } from '#app/utils/page-cache.server.ts'
import { applyStripeEvent, lockSubjectsOf, withoutPersonalData } from './stripe-event-handlers.server.ts'
import { MalformedStripeEvent } from './stripe-event-objects.server.ts'
import type { StripeEvent } from './stripe.server.ts'

/**
 * The Stripe inbox (docs/decisions/014-stripe-inbox.md): every event Stripe sends, or
 * reconciliation finds, is committed here first and applied afterwards by the worker. Receiving
 * is one INSERT, so Stripe gets its 200 at once and nothing it sent is lost if applying fails;
 * applying takes each event in its own transaction, under its payment's locks, retries what
 * failed with a growing delay, and parks for staff what keeps failing or can never apply.
 */

export const APPLY_STRIPE_EVENTS_TASK = 'apply_stripe_events'
export type InboxSource = 'webhook' | 'reconciliation' | 'offline'

/**
 * Events one lane claims, and applies in one transaction, at a time: enough to save commits and
 * round trips, few enough to share a backlog between lanes and to redo cheaply when one fails.
 */
const CLAIM_BATCH = 50
/** A claimed event another worker may take again if this one has not finished by then. */
const LEASE_SECONDS = 120
const MAX_ERROR_LENGTH = 2_000

/**
 * Stores a verified event, as it will be applied (without the personal fields Stripe puts on
 * its objects). Returns false when the inbox already has it: a repeat delivery changes nothing.
 */
export async function receiveStripeEvent(db: Database, event: StripeEvent, source: InboxSource = 'webhook'): Promise<boolean> {
  const stored = await db
    .insertInto('stripe_inbox')
    .values({
      event_id: event.id,
      type: event.type,
      stripe_created_at: new Date(event.created * 1000),
      payload: JSON.stringify(withoutPersonalData(event)),
      source,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .executeTakeFirst()
  return stored !== undefined
}

let waking: Promise<void> | null = null
let wakeAgain = false

/**
 * Asks the worker to apply what has arrived, without waiting for it. Every stored event calls
 * this, but one job request at a time goes out per process: events stored meanwhile share the
 * next one (each job request sends a NOTIFY, and PostgreSQL commits those one at a time,
 * docs/decisions/009). A job already waiting takes the request (its key); a running applier
 * goes on until nothing is due, and the request made after its last look starts another. If
 * this process stops before asking, the worker's sweep finds the event within seconds.
 */
export function wakeStripeApplier(db: Database): void {
  if (waking) {
    wakeAgain = true
    return
  }
  waking = addJob(db, APPLY_STRIPE_EVENTS_TASK, {}, { jobKey: APPLY_STRIPE_EVENTS_TASK, maxAttempts: 5 })
    .catch((error) => getLogger().warn({ err: error }, 'Stripe events left for the sweep'))
    .finally(() => {
      waking = null
      if (wakeAgain) {
        wakeAgain = false
        wakeStripeApplier(db)
      }
    })
}

/** Settles when the last wake-up asked for has been sent (tests look at the job queue). */
export async function stripeWakeSettled() {
  while (waking) await waking
}

type Claimed = { event_id: string; type: string; payload: string | null; attempts: number; created: number }

/**
 * Takes up to `limit` due events for this worker: oldest first, skipping those another worker
 * holds. A claim counts an attempt and pushes the event's next attempt out by the lease, so an
 * event whose worker dies mid-way is taken again once the lease ends, and counts towards parking.
 */
async function claimDueEvents(db: Database, limit: number): Promise<Claimed[]> {
  const { rows } = await sql<Claimed>`
    update stripe_inbox
    set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS})
    where event_id in (
      select event_id from stripe_inbox
      where state = 'pending' and next_attempt_at <= now()
      order by next_attempt_at, received_at
      limit ${limit}
      for update skip locked
    )
    returning event_id, type, payload, attempts, extract(epoch from stripe_created_at)::float8 as created`.execute(db)
  // One lane applies its claim in the order Stripe created the events.
  return rows.sort((a, b) => a.created - b.created)
}

export type ApplyOptions = {
  /** Failed attempts before an event is parked for staff. */
  maxAttempts: number
  /** Lanes applying at once; one payment's events wait for each other whatever the lanes. */
  lanes?: number
  /**
   * How long a lane goes on looking (every LINGER_POLL_MS) once nothing is due, before it stops.
   * The worker's task lingers so that events arriving one after another, as at a fundraising
   * dinner, are taken by the running lanes rather than each waiting for a new job to be picked
   * (graphile-worker's job queue gets slower to search while thousands of receipts wait in it).
   */
  lingerMs?: number
  /** Ends the lingering at once (the worker is shutting down). */
  signal?: AbortSignal
}

/** How often a lingering lane looks for due events: a claim that finds nothing is one index probe. */
const LINGER_POLL_MS = 20

export type ApplyCounts = { applied: number; retrying: number; parked: number }

/**
 * Applies every due event, in `lanes` parallel lanes, until none has been due for `lingerMs`.
 * Each claim is one transaction (applyClaimedBatch); one payment's events wait for each other on
 * that payment's locks (lockSubject), so different payments apply side by side and one payment's
 * never race. Safe in several workers.
 */
export async function applyDueStripeEvents(db: Database, options: ApplyOptions): Promise<ApplyCounts> {
  const counts: ApplyCounts = { applied: 0, retrying: 0, parked: 0 }
  const lingerMs = options.lingerMs ?? 0
  const lane = async () => {
    let idleSince: number | null = null
    for (;;) {
      const claimed = await claimDueEvents(db, CLAIM_BATCH)
      if (claimed.length === 0) {
        idleSince ??= Date.now()
        if (Date.now() - idleSince >= lingerMs || options.signal?.aborted) return
        await new Promise((resolve) => setTimeout(resolve, LINGER_POLL_MS))
        continue
      }
      idleSince = null
      let applied = 0
      for (const outcome of await applyClaimedBatch(db, claimed, options.maxAttempts)) {
        counts[outcome] += 1
        if (outcome === 'applied') applied += 1
      }
      if (applied > 0) {
        // A cached appeal page in this process may now show an old total; receipts get their jobs.
        invalidatePublicPages()
        void scheduleQueuedEmailsSoon(db, (error) => getLogger().warn({ err: error }, 'Email jobs left for the sweep'))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.lanes ?? 1) }, lane))
  return counts
}

/**
 * Applies a lane's claim in one transaction, in the order Stripe created the events: one commit
 * instead of one per event is most of what a backlog costs (docs/decisions/030). Every lock the
 * events will take is taken first, all at once and in the one global order (lockSubjectsOf), so
 * two lanes' batches that share a payment wait for each other instead of deadlocking. If anything
 * in the batch fails (a malformed event, a deadlock over a lock found only while applying, the
 * database going away), the whole batch rolls back and each event is applied on its own, where a
 * failure is counted against that event alone.
 */
async function applyClaimedBatch(db: Database, rows: Claimed[], maxAttempts: number): Promise<Array<keyof ApplyCounts>> {
  const applyOneByOne = async () => {
    const outcomes: Array<keyof ApplyCounts> = []
    for (const row of rows) outcomes.push(await applyClaimed(db, row, maxAttempts))
    return outcomes
  }
  if (rows.length < 2 || rows.some((row) => row.payload === null)) return applyOneByOne()
  try {
    const events = rows.map((row) => JSON.parse(row.payload!) as StripeEvent)
    await db.transaction().execute(async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx)
      addEmailJobsAfterCommit(trx)
      holdQueuedEmails(trx)
      await lockSubjectsOf(trx, events)
      for (const event of events) await applyStripeEvent(trx, event)
      await writeQueuedEmails(trx)
      await markApplied(trx, rows.map((row) => row.event_id))
    })
    return rows.map(() => 'applied')
  } catch (error) {
    getLogger().debug({ err: error, events: rows.length }, 'A batch of Stripe events rolled back: applying them one by one')
    return applyOneByOne()
  }
}

/** Applied, unless a handler found the payment unknown and made the row `waiting`: that stays. */
async function markApplied(trx: DatabaseTransaction, eventIds: string[]) {
  await trx
    .updateTable('stripe_inbox')
    .set({ state: 'applied', applied_at: new Date(), last_error: null })
    .where('event_id', 'in', eventIds)
    .where('state', '=', 'pending')
    .execute()
}

async function applyClaimed(db: Database, row: Claimed, maxAttempts: number): Promise<keyof ApplyCounts> {
  try {
    if (!row.payload) throw new MalformedStripeEvent(row.type, ['(event): forgotten by the retention job'])
    const event = JSON.parse(row.payload) as StripeEvent
    await db.transaction().execute(async (trx) => {
      // The event is durable already (its inbox row was committed before Stripe got its 200), so
      // this commit need not wait for its WAL to reach the disk: a database crash can lose at most
      // the last moments of applying, and those events are pending again and applied again. Anything
      // seen outside (a receipt's job) is committed later and synchronously, which flushes this
      // commit first (docs/decisions/019).
      await sql`set local synchronous_commit = off`.execute(trx)
      addEmailJobsAfterCommit(trx)
      await applyStripeEvent(trx, event)
      await markApplied(trx, [row.event_id])
    })
    return 'applied'
  } catch (error) {
    try {
      return await recordFailure(db, row, error, maxAttempts)
    } catch (recordError) {
      // The database is away: the claim's lease runs out and the event is taken again then.
      getLogger().warn({ err: recordError, eventId: row.event_id, type: row.type }, 'Stripe event failed and the failure could not be recorded')
      return 'retrying'
    }
  }
}

/**
 * A failed attempt: tried again after 5 s, 10 s, 20 s… (at most an hour), and parked after
 * `maxAttempts`, or at once when no retry could cure it (an object not of the shape we read, a
 * value the database refuses): a bug to fix or a Stripe setting to correct, then "retry".
 */
async function recordFailure(db: Database, row: Claimed, error: unknown, maxAttempts: number): Promise<'retrying' | 'parked'> {
  const permanent = error instanceof MalformedStripeEvent || isPermanentFailure(error)
  const park = permanent || row.attempts >= maxAttempts
  const delaySeconds = Math.min(5 * 2 ** (row.attempts - 1), 3_600)
  const message = describeFailure(error)
  await db
    .updateTable('stripe_inbox')
    .set({
      state: park ? 'parked' : 'pending',
      last_error: message,
      next_attempt_at: park ? sql<Date>`now()` : sql<Date>`now() + make_interval(secs => ${delaySeconds})`,
    })
    .where('event_id', '=', row.event_id)
    .where('state', '=', 'pending')
    .execute()
  const fields = { eventId: row.event_id, type: row.type, attempts: row.attempts, error: message }
  if (park) getLogger().error(fields, 'Stripe event parked: staff must look at it (Payment events that need attention)')
  else getLogger().warn({ ...fields, retryInSeconds: delaySeconds }, 'Stripe event failed to apply; it will be tried again')
  return park ? 'parked' : 'retrying'
}

/**
 * What staff and the log see of a failure. A database error's message names the constraint, not
 * the values (those are in its `detail`, left out); a malformed event names field paths only.
 */
function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return (typeof code === 'string' ? `${code} ${text}` : text).slice(0, MAX_ERROR_LENGTH)
}

/** Whether anything is due now: the worker's sweep asks before it wakes an applier. */
export async function hasDueStripeEvents(db: Database): Promise<boolean> {
  const due = await db
    .selectFrom('stripe_inbox')
    .select('event_id')
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .limit(1)
    .executeTakeFirst()
  return due !== undefined
}

/**
 * The worker's sweep, every few seconds: wakes an applier for events whose wake-up was lost (a
 * web process stopped between storing and asking), whose retry time has come, or whose lease
 * ran out. Returns a function that stops it.
 */
export function startStripeInboxSweep(db: Database, everyMs = 5_000): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    hasDueStripeEvents(db)
      .then((due) => (due ? wakeStripeApplier(db) : undefined))
      .catch((error) => getLogger().warn({ err: error }, 'Stripe inbox sweep failed'))
      .finally(() => {
        running = false
      })
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** What the staff page shows: parked events, and how far behind the applier is. */
export async function getStripeInboxHealth(db: Database) {
  const row = await db
    .selectFrom('stripe_inbox')
    .select((eb) => [
      eb.fn.countAll<string>().filterWhere('state', '=', 'parked').as('parked'),
      eb.fn.countAll<string>().filterWhere('state', '=', 'pending').as('pending'),
      eb.fn.min('received_at').filterWhere('state', '=', 'pending').as('oldest_pending_at'),
    ])
    .where('state', 'in', ['parked', 'pending'])
    .executeTakeFirstOrThrow()
  return { parked: Number(row.parked), pending: Number(row.pending), oldestPendingAt: row.oldest_pending_at as Date | null }
}

export async function countParkedStripeEvents(db: Database): Promise<number> {
  const row = await db
    .selectFrom('stripe_inbox')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('state', '=', 'parked')
    .executeTakeFirstOrThrow()
  return Number(row.count)
}

export async function listParkedStripeEvents(db: Database, limit = 200) {
  return db
    .selectFrom('stripe_inbox')
    .select(['event_id', 'type', 'source', 'stripe_created_at', 'received_at', 'attempts', 'last_error', 'payload'])
    .where('state', '=', 'parked')
    .orderBy('received_at')
    .limit(limit)
    .execute()
}

/**
 * Puts parked events back in the queue with a fresh count of attempts (after the bug is fixed or
 * the setting corrected) and wakes the applier. `eventIds` null retries every parked event.
 * Returns the ids put back; an id that is not parked (applied meanwhile) is left alone.
 */
export async function retryParkedStripeEvents(db: Database, eventIds: string[] | null): Promise<string[]> {
  if (eventIds !== null && eventIds.length === 0) return []
  let query = db
    .updateTable('stripe_inbox')
    .set({ state: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()` })
    .where('state', '=', 'parked')
  if (eventIds !== null) query = query.where('event_id', 'in', eventIds)
  const retried = await query.returning('event_id').execute()
  if (retried.length > 0) wakeStripeApplier(db)
  return retried.map((row) => row.event_id)
}

/**
 * The retention job's part for payments. Waiting events older than `waitingDays` belong to
 * payments we will never see (a completion arrives within hours of its payment): forgotten.
 * Applied events keep their row (so a late repeat is still known) but lose their payload after
 * `appliedDays`: long enough to replay after a bug fix, no longer.
 */
export async function purgeStripeInbox(db: Database, options: { waitingDays: number; appliedDays: number; now?: Date }) {
  const now = (options.now ?? new Date()).getTime()
  const day = 24 * 60 * 60 * 1000
  const unseen = await db
    .deleteFrom('stripe_inbox')
    .where('state', '=', 'waiting')
    .where('received_at', '<', new Date(now - options.waitingDays * day))
    .executeTakeFirst()
  const forgotten = await db
    .updateTable('stripe_inbox')
    .set({ payload: null })
    .where('state', '=', 'applied')
    .where('payload', 'is not', null)
    .where('applied_at', '<', new Date(now - options.appliedDays * day))
    .executeTakeFirst()
  const counts = { unseen: Number(unseen.numDeletedRows), forgotten: Number(forgotten.numUpdatedRows) }
  if (counts.unseen > 0 || counts.forgotten > 0) getLogger().info({ ...counts, ...options, now: undefined }, 'Stripe inbox retention')
  return counts
}
