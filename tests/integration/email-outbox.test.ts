import { http, HttpResponse } from 'msw'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { emailTemplates } from '#emails/index.ts'
import { createResendSender } from '#app/modules/email/resend.server.ts'
import {
  deliverOutboxEmail,
  enqueueEmail,
  retryEmail,
  type DeliveryDependencies,
} from '#app/modules/email/outbox.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { server } from '#tests/mocks/node.ts'
import { clearResendCalls, recordResendCall, RESEND_EMAILS_URL, resendCalls } from '#tests/mocks/resend.ts'

const db = getDb()
const HOUR = 60 * 60 * 1000

/** A clock the test moves by hand. */
function clock(start = new Date()) {
  let current = start.getTime()
  return {
    now: () => new Date(current),
    set: (date: Date) => {
      current = date.getTime()
    },
    advance: (ms: number) => {
      current += ms
    },
  }
}

function dependencies(overrides: Partial<DeliveryDependencies> = {}): DeliveryDependencies {
  return {
    sender: createResendSender('re_test_key'),
    from: 'CAGE <appeals@example.org>',
    giveUpAfterMs: 24 * HOUR,
    random: () => 0.5,
    ...overrides,
  }
}

let sequence = 0

/** A business change (a new supporter) and its email, in one transaction. */
async function supporterWithReceipt(options: { to?: string; fail?: boolean } = {}) {
  sequence += 1
  const key = `donation-receipt/test-${sequence}-${Date.now()}`
  return db.transaction().execute(async (trx) => {
    const supporter = await trx
      .insertInto('supporters')
      .values({ name: `Supporter ${sequence}` })
      .returning('id')
      .executeTakeFirstOrThrow()
    const email = await enqueueEmail(trx, {
      template: 'donation-receipt',
      to: options.to ?? `supporter-${sequence}@example.org`,
      props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
      idempotencyKey: key,
    })
    if (options.fail) throw new Error('the business change failed')
    return { supporterId: supporter.id, outboxId: email.id, key }
  })
}

async function outboxRow(id: string) {
  return db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function scheduledJob(outboxId: string) {
  const { rows } = await sql<{ run_at: Date; attempts: number }>`
    select run_at, attempts from graphile_worker.jobs where key = ${`email:${outboxId}`}`.execute(db)
  return rows[0]
}

beforeEach(() => clearResendCalls())
afterEach(() => clearResendCalls())

describe('enqueueing', () => {
  test('the email and its delivery job are written with the business change', async () => {
    const { supporterId, outboxId } = await supporterWithReceipt()
    expect(await db.selectFrom('supporters').select('id').where('id', '=', supporterId).executeTakeFirst()).toBeDefined()
    expect((await outboxRow(outboxId)).status).toBe('queued')
    expect(await scheduledJob(outboxId)).toBeDefined()
    expect(resendCalls).toHaveLength(0)
  })

  test('rolling back the business change leaves no email and no job', async () => {
    const before = await db.selectFrom('email_outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    const jobsBefore = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs`.execute(db)
    await expect(supporterWithReceipt({ fail: true })).rejects.toThrow('the business change failed')
    const after = await db.selectFrom('email_outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    const jobsAfter = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs`.execute(db)
    expect(after.n).toBe(before.n)
    expect(jobsAfter.rows[0]!.n).toBe(jobsBefore.rows[0]!.n)
  })

  test('the same idempotency key twice is one email', async () => {
    const first = await supporterWithReceipt()
    const again = await db.transaction().execute((trx) =>
      enqueueEmail(trx, {
        template: 'donation-receipt',
        to: 'someone-else@example.org',
        props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
        idempotencyKey: first.key,
      }),
    )
    expect(again).toEqual({ id: first.outboxId, created: false })
    const rows = await db.selectFrom('email_outbox').select('id').where('idempotency_key', '=', first.key).execute()
    expect(rows).toHaveLength(1)
  })

  test('props the template cannot render are refused, and the business change rolls back with them', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('supporters').values({ name: 'Refused', email: 'refused@example.org' }).execute()
        await enqueueEmail(trx, { template: 'donation-receipt', to: 'x@example.org', props: { nonsense: true }, idempotencyKey: 'bad/props' })
      }),
    ).rejects.toThrow()
    expect(await db.selectFrom('supporters').select('id').where('email', '=', 'refused@example.org').executeTakeFirst()).toBeUndefined()
  })
})

describe('delivery through Resend', () => {
  test('sends once with the idempotency key and records the provider id', async () => {
    const { outboxId, key } = await supporterWithReceipt()
    const result = await deliverOutboxEmail(db, outboxId, dependencies())
    expect(result.outcome).toBe('sent')
    expect(resendCalls).toHaveLength(1)
    expect(resendCalls[0]!.idempotencyKey).toBe(key)
    expect(resendCalls[0]!.body).toMatchObject({ from: 'CAGE <appeals@example.org>', to: [expect.stringMatching(/@example.org$/)] })
    const row = await outboxRow(outboxId)
    expect(row.status).toBe('sent')
    expect(row.provider_message_id).toBeTruthy()
    // Delivered already: a second run of the job does nothing.
    expect((await deliverOutboxEmail(db, outboxId, dependencies())).outcome).toBe('not-claimed')
    expect(resendCalls).toHaveLength(1)
  })

  test('429 with Retry-After, then 200: one email, the same key on both calls, the retry not before Retry-After', async () => {
    const { outboxId, key } = await supporterWithReceipt()
    let answered = 0
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        answered += 1
        if (answered === 1) {
          await recordResendCall(request, 429)
          return HttpResponse.json(
            { statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests' },
            { status: 429, headers: { 'retry-after': '90' } },
          )
        }
        await recordResendCall(request, 200)
        return HttpResponse.json({ id: 'email-after-429' })
      }),
    )
    const time = clock()
    const first = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
    expect(first.outcome).toBe('retry')
    if (first.outcome !== 'retry') return
    expect(first.retryAt.getTime() - time.now().getTime()).toBeGreaterThanOrEqual(90_000)
    const job = await scheduledJob(outboxId)
    expect(job?.run_at.getTime()).toBe(first.retryAt.getTime())

    time.set(first.retryAt)
    const second = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
    expect(second).toEqual({ outcome: 'sent', providerMessageId: 'email-after-429' })
    expect(resendCalls.map((call) => call.status)).toEqual([429, 200])
    expect(new Set(resendCalls.map((call) => call.idempotencyKey))).toEqual(new Set([key]))
    expect((await outboxRow(outboxId)).attempts).toBe(2)
  })

  test('503 for an hour: the change is saved at once, the email goes once when Resend is back', async () => {
    const time = clock()
    const { supporterId, outboxId } = await supporterWithReceipt()
    expect(await db.selectFrom('supporters').select('id').where('id', '=', supporterId).executeTakeFirst()).toBeDefined()
    const backAt = time.now().getTime() + HOUR
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        if (time.now().getTime() < backAt) {
          await recordResendCall(request, 503)
          return HttpResponse.json({ statusCode: 503, name: 'service_unavailable', message: 'down' }, { status: 503 })
        }
        await recordResendCall(request, 200)
        return HttpResponse.json({ id: 'email-after-outage' })
      }),
    )
    let outcome = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
    let attempts = 1
    while (outcome.outcome === 'retry' && attempts < 50) {
      time.set(outcome.retryAt)
      outcome = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
      attempts += 1
    }
    expect(outcome.outcome).toBe('sent')
    expect(resendCalls.filter((call) => call.status === 200)).toHaveLength(1)
    expect(resendCalls.filter((call) => call.status === 503).length).toBe(attempts - 1)
    // Back-off, not hammering: an hour of outage takes a handful of attempts.
    expect(attempts).toBeLessThanOrEqual(10)
    expect(time.now().getTime()).toBeGreaterThanOrEqual(backAt)
  })

  test('a permanent 422 marks the email failed and schedules nothing more', async () => {
    const { outboxId } = await supporterWithReceipt()
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        await recordResendCall(request, 422)
        return HttpResponse.json({ statusCode: 422, name: 'validation_error', message: 'Invalid `to` field.' }, { status: 422 })
      }),
    )
    const result = await deliverOutboxEmail(db, outboxId, dependencies())
    expect(result.outcome).toBe('failed')
    const row = await outboxRow(outboxId)
    expect(row.status).toBe('failed')
    expect(row.last_error).toContain('validation_error')
    expect((await deliverOutboxEmail(db, outboxId, dependencies())).outcome).toBe('not-claimed')
    expect(resendCalls).toHaveLength(1)
  })

  test('a network error and a concurrent idempotent request are both retried later', async () => {
    const { outboxId } = await supporterWithReceipt()
    server.use(http.post(RESEND_EMAILS_URL, () => HttpResponse.error()))
    expect((await deliverOutboxEmail(db, outboxId, dependencies())).outcome).toBe('retry')

    const other = await supporterWithReceipt()
    server.use(
      http.post(RESEND_EMAILS_URL, () =>
        HttpResponse.json(
          { statusCode: 409, name: 'concurrent_idempotent_requests', message: 'Same key in flight' },
          { status: 409 },
        ),
      ),
    )
    expect((await deliverOutboxEmail(db, other.outboxId, dependencies())).outcome).toBe('retry')
  })

  test('a Resend that never answers is given up after the timeout and the email stays queued for later', async () => {
    const { outboxId } = await supporterWithReceipt()
    server.use(http.post(RESEND_EMAILS_URL, () => new Promise<never>(() => {})))
    const result = await deliverOutboxEmail(db, outboxId, dependencies({ sender: createResendSender('re_test_key', { timeoutMs: 200 }) }))
    expect(result.outcome).toBe('retry')
    const row = await db.selectFrom('email_outbox').select(['status', 'last_error']).where('id', '=', outboxId).executeTakeFirstOrThrow()
    expect(row.status).toBe('queued')
    expect(row.last_error).toMatch(/network/)
  })

  test('the same job run twice at once calls Resend once', async () => {
    const { outboxId } = await supporterWithReceipt()
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        await new Promise((resolve) => setTimeout(resolve, 150))
        await recordResendCall(request, 200)
        return HttpResponse.json({ id: 'only-once' })
      }),
    )
    const outcomes = await Promise.all([
      deliverOutboxEmail(db, outboxId, dependencies()),
      deliverOutboxEmail(db, outboxId, dependencies()),
    ])
    expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual(['not-claimed', 'sent'])
    expect(resendCalls).toHaveLength(1)
  })

  test('gives up after a day, keeps the last error for staff, and a staff retry sends it', async () => {
    const time = clock()
    const { outboxId } = await supporterWithReceipt()
    let resendIsDown = true
    server.use(
      http.post(RESEND_EMAILS_URL, async ({ request }) => {
        if (resendIsDown) {
          await recordResendCall(request, 500)
          return HttpResponse.json({ statusCode: 500, name: 'internal_server_error', message: 'boom' }, { status: 500 })
        }
        await recordResendCall(request, 200)
        return HttpResponse.json({ id: 'after-staff-retry' })
      }),
    )
    // The window is measured from when the email was queued, on the database clock.
    time.set((await outboxRow(outboxId)).retry_window_started_at)
    let outcome = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
    let guard = 0
    while (outcome.outcome === 'retry' && guard++ < 100) {
      time.set(outcome.retryAt)
      outcome = await deliverOutboxEmail(db, outboxId, dependencies({ now: time.now }))
    }
    expect(outcome.outcome).toBe('failed')
    const failed = await outboxRow(outboxId)
    expect(failed.status).toBe('failed')
    expect(failed.last_error).toMatch(/Gave up after \d+ attempts: 500 internal_server_error/)
    expect(time.now().getTime() - failed.retry_window_started_at.getTime()).toBeLessThanOrEqual(24 * HOUR)

    resendIsDown = false
    expect(await retryEmail(db, outboxId)).toBe(true)
    expect(await scheduledJob(outboxId)).toBeDefined()
    expect((await deliverOutboxEmail(db, outboxId, dependencies())).outcome).toBe('sent')
    expect(new Set(resendCalls.map((call) => call.idempotencyKey)).size).toBe(1)
  })

  test('a suppressed address is marked, not sent', async () => {
    await db.insertInto('email_suppressions').values({ email: 'bounced-before@example.org', reason: 'bounced' }).execute()
    const { outboxId } = await supporterWithReceipt({ to: 'Bounced-Before@example.org' })
    expect((await deliverOutboxEmail(db, outboxId, dependencies())).outcome).toBe('suppressed')
    expect((await outboxRow(outboxId)).status).toBe('suppressed')
    expect(resendCalls).toHaveLength(0)
  })
})
