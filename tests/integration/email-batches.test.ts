import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { http, HttpResponse } from 'msw'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { emailTemplates } from '#emails/index.ts'
import { batchIdempotencyKey, sendEmailBatches, type BatchDeliveryDependencies } from '#app/modules/email/batches.server.ts'
import { deliverOutboxEmail, enqueueEmail, enqueueEmails } from '#app/modules/email/outbox.server.ts'
import { createResendSender } from '#app/modules/email/resend.server.ts'
import type { EmailSender } from '#app/modules/email/sending.ts'
import { createThrottle } from '#app/modules/email/throttle.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { FakeResend } from '#tests/mocks/fake-resend.ts'
import { server } from '#tests/mocks/node.ts'
import { clearResendCalls } from '#tests/mocks/resend.ts'

/*
 * Bulk email through Resend's batch endpoint (app/modules/email/batches.server.ts), against a fake
 * of Resend's HTTP API (tests/mocks/fake-resend.ts) reached through the real SDK.
 */

const db = getDb()
const DAY = 24 * 60 * 60 * 1000
let fake: FakeResend

function useFakeResend(options: ConstructorParameters<typeof FakeResend>[0] = {}) {
  fake = new FakeResend(options)
  server.use(...fake.handlers())
  return fake
}

function dependencies(overrides: Partial<BatchDeliveryDependencies> = {}): BatchDeliveryDependencies {
  return {
    sender: createResendSender('re_test_key'),
    from: 'CAGE <appeals@example.org>',
    giveUpAfterMs: DAY,
    random: () => 0.5,
    worker: { id: randomUUID(), startedAt: new Date() },
    lanes: 1,
    ...overrides,
  }
}

/** An appeal update to `count` people, as appeal-updates.server.ts enqueues it. */
async function appealUpdateTo(count: number, address: (index: number) => string = (index) => `person-${index}@example.org`) {
  const tag = randomUUID().slice(0, 8)
  const base = emailTemplates['appeal-update'].previewProps
  const emails = Array.from({ length: count }, (_, index) => ({
    template: 'appeal-update' as const,
    to: address(index).replace('@', `+${tag}@`),
    props: { ...base, name: `Person ${index}`, unsubscribeUrl: `https://example.org/updates/stop?who=${tag}-${index}&signature=s${index}` },
    idempotencyKey: `appeal-update:${tag}:${index}`,
  }))
  const queued = await db.transaction().execute((trx) => enqueueEmails(trx, emails))
  return queued.map(({ id }, index) => ({ id, to: emails[index]!.to }))
}

async function outboxRows(ids: string[]) {
  return db.selectFrom('email_outbox').select(['id', 'status', 'provider_message_id', 'last_error', 'attempts', 'delivery']).where('id', 'in', ids).execute()
}

async function batchesOf(ids: string[]) {
  const rows = await db
    .selectFrom('email_batch_members as m')
    .innerJoin('email_batches as b', 'b.id', 'm.batch_id')
    .select(['b.id', 'b.status', 'm.outbox_id', 'm.position'])
    .where('m.outbox_id', 'in', ids)
    .orderBy('b.created_at')
    .orderBy('m.position')
    .execute()
  const batches = new Map<string, { status: string; members: string[] }>()
  for (const row of rows) {
    const batch = batches.get(row.id) ?? { status: row.status, members: [] }
    batch.members.push(row.outbox_id)
    batches.set(row.id, batch)
  }
  return batches
}

beforeEach(() => clearResendCalls())
afterEach(async () => {
  // Each test leaves nothing queued for the next one's batches.
  const left = await db.selectFrom('email_outbox').select('id').where('delivery', '=', 'batch').where('status', 'in', ['queued', 'sending']).execute()
  expect(left).toEqual([])
})

describe('batches', () => {
  test('250 appeal updates go in batches of at most 100, each under the key derived from its stored membership, each email once', async () => {
    useFakeResend()
    const emails = await appealUpdateTo(250)
    const totals = await sendEmailBatches(db, dependencies())
    expect(totals).toMatchObject({ batches: 3, sent: 250, failed: 0 })

    const batchRequests = fake.requests.filter((request) => request.path === '/emails/batch')
    expect(batchRequests.map((request) => request.size)).toEqual([100, 100, 50])
    expect(batchRequests.every((request) => request.validation === 'permissive')).toBe(true)
    const batches = await batchesOf(emails.map((email) => email.id))
    expect([...batches.values()].map((batch) => batch.members.length)).toEqual([100, 100, 50])
    expect(batchRequests.map((request) => request.idempotencyKey)).toEqual([...batches].map(([id, batch]) => batchIdempotencyKey(id, batch.members)))

    expect(fake.sent).toHaveLength(250)
    expect([...fake.timesSent().values()].every((times) => times === 1)).toBe(true)
    const rows = await outboxRows(emails.map((email) => email.id))
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true)
    // Delivery reports (the Resend webhook) find each email by the id Resend gave it.
    expect(new Set(rows.map((row) => row.provider_message_id))).toEqual(new Set(fake.sent.map((email) => email.id)))
    // Each email as it would go alone: its own subject, unsubscribe headers and body.
    const first = fake.sent.find((email) => email.to === emails[0]!.to)!
    expect(first.headers['List-Unsubscribe']).toMatch(/^<https:\/\/example\.org\/updates\/stop\?who=.*-0&signature=s0>$/)
  })

  test('receipts, and bulk emails with attachments, keep the single path', async () => {
    useFakeResend()
    const tag = randomUUID()
    const [receipt, withCalendar] = await db.transaction().execute(async (trx) => [
      await enqueueEmail(trx, {
        template: 'donation-receipt',
        to: 'receipt@example.org',
        props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
        idempotencyKey: `donation-receipt/${tag}`,
      }),
      await enqueueEmail(trx, {
        template: 'event-changed',
        to: 'calendar@example.org',
        props: emailTemplates['event-changed'].previewProps as Record<string, unknown>,
        idempotencyKey: `event-changed:${tag}`,
        attachments: [{ filename: 'event.ics', contentType: 'text/calendar', contentBase64: Buffer.from('BEGIN:VCALENDAR').toString('base64') }],
      }),
    ])
    expect((await outboxRows([receipt!.id, withCalendar!.id])).map((row) => row.delivery)).toEqual(['single', 'single'])
    const jobs = await sql<{ key: string }>`select key from graphile_worker.jobs where key in (${`email:${receipt!.id}`}, ${`email:${withCalendar!.id}`})`.execute(db)
    expect(jobs.rows).toHaveLength(2)
    expect(await sendEmailBatches(db, dependencies())).toMatchObject({ batches: 0 })
    for (const { id } of [receipt!, withCalendar!]) expect((await deliverOutboxEmail(db, id, dependencies())).outcome).toBe('sent')
    expect(fake.requests.map((request) => request.path)).toEqual(['/emails', '/emails'])
  })

  test('a worker that dies after Resend accepted a batch: the next one resends it under the same key, and nobody gets it twice', async () => {
    useFakeResend()
    const emails = await appealUpdateTo(30)
    // The first worker's request reaches Resend and is accepted, then the process dies before
    // it can record anything: its promise never settles.
    const real = createResendSender('re_test_key')
    const dying: EmailSender = { ...real, sendBatch: async (batch) => (await real.sendBatch(batch), new Promise<never>(() => {})) }
    void sendEmailBatches(db, dependencies({ sender: dying }))
    for (let waited = 0; fake.sent.length < 30 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(fake.sent).toHaveLength(30)
    expect((await outboxRows(emails.map((email) => email.id))).every((row) => row.status === 'sending')).toBe(true)

    // A worker started after the first one claimed the batch takes it back at once.
    const restarted = await sendEmailBatches(db, dependencies({ worker: { id: randomUUID(), startedAt: new Date() } }))
    expect(restarted).toMatchObject({ batches: 1, sent: 30 })
    const [first, retry] = fake.requests
    expect(retry!.idempotencyKey).toBe(first!.idempotencyKey)
    expect(fake.sent).toHaveLength(30)
    const rows = await outboxRows(emails.map((email) => email.id))
    expect(rows.every((row) => row.status === 'sent')).toBe(true)
    // Resend answered the retry with the first answer: the same ids.
    expect(new Set(rows.map((row) => row.provider_message_id))).toEqual(new Set(fake.sent.map((email) => email.id)))
  })

  test('a worker that dies as it is about to send: the next sends the batch once, with the membership stored before', async () => {
    useFakeResend()
    const emails = await appealUpdateTo(5)
    const real = createResendSender('re_test_key')
    let dead = false
    const stalled: EmailSender = {
      ...real,
      sendBatch: () => {
        dead = true
        return new Promise<never>(() => {})
      },
    }
    void sendEmailBatches(db, dependencies({ sender: stalled }))
    for (let waited = 0; !dead && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
    const [batchId, stored] = [...(await batchesOf(emails.map((email) => email.id)))][0]!
    await sendEmailBatches(db, dependencies({ worker: { id: randomUUID(), startedAt: new Date() } }))
    expect(fake.requests.map((request) => request.idempotencyKey)).toEqual([batchIdempotencyKey(batchId, stored.members)])
    expect(fake.sent).toHaveLength(5)
  })

  test('permissive validation: the emails Resend refuses are failed with its reason, the rest of the batch is sent', async () => {
    useFakeResend({ invalid: (email) => (email.to[0]!.startsWith('refused') ? 'The `to` domain does not accept email.' : null) })
    const emails = await appealUpdateTo(10, (index) => (index % 4 === 1 ? `refused-${index}@example.org` : `fine-${index}@example.org`))
    expect(await sendEmailBatches(db, dependencies())).toMatchObject({ batches: 1, sent: 7, failed: 3 })
    expect(fake.requests).toHaveLength(1)
    const rows = await outboxRows(emails.map((email) => email.id))
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const [index, email] of emails.entries()) {
      const row = byId.get(email.id)!
      if (index % 4 === 1) expect(row).toMatchObject({ status: 'failed', last_error: '422 validation_error: The `to` domain does not accept email.', provider_message_id: null })
      else expect(row).toMatchObject({ status: 'sent', provider_message_id: expect.any(String) })
    }
    expect(fake.sent.map((email) => email.to).sort()).toEqual(emails.filter((_, index) => index % 4 !== 1).map((email) => email.to).sort())
  })

  test('a batch refused whole is split in halves until the email to blame is alone; the others go once', async () => {
    useFakeResend({ refuseBatch: (emails) => (emails.some((email) => email.to[0]!.startsWith('poison')) ? 'Invalid header value.' : null) })
    const emails = await appealUpdateTo(8, (index) => (index === 5 ? 'poison@example.org' : `ok-${index}@example.org`))
    const totals = await sendEmailBatches(db, dependencies())
    expect(totals).toMatchObject({ sent: 7, failed: 1 })
    // 8 refused → 4 sent + 4 refused → 2 sent + 2 refused → 1 sent + 1 refused alone.
    const requests = fake.requests.map((request) => `${request.size}:${request.status}`)
    expect(requests.sort()).toEqual(['1:200', '1:422', '2:200', '2:422', '4:200', '4:422', '8:422'])
    const rows = new Map((await outboxRows(emails.map((email) => email.id))).map((row) => [row.id, row]))
    expect(rows.get(emails[5]!.id)).toMatchObject({ status: 'failed', last_error: '422 validation_error: Invalid header value.' })
    expect(fake.sent).toHaveLength(7)
    expect([...fake.timesSent().values()].every((times) => times === 1)).toBe(true)
    // Every request had a key of its own.
    expect(new Set(fake.requests.map((request) => request.idempotencyKey)).size).toBe(fake.requests.length)
  })

  test('429 with Retry-After: the batch waits that long, goes again under the same key, and the throttle holds everyone back meanwhile', async () => {
    useFakeResend()
    let refused: { key: string | null; size: number; at: number } | undefined
    server.use(
      http.post('https://api.resend.com/emails/batch', async ({ request }) => {
        if (refused) return fake.handle(request)
        refused = { key: request.headers.get('idempotency-key'), size: ((await request.clone().json()) as unknown[]).length, at: Date.now() }
        return HttpResponse.json({ statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests' }, { status: 429, headers: { 'retry-after': '1' } })
      }),
    )
    // Small batches, so that without the pause several would go within that second.
    const emails = await appealUpdateTo(80)
    expect(await sendEmailBatches(db, dependencies({ throttle: createThrottle(100), lanes: 2, maxBatchSize: 10 }))).toMatchObject({ sent: 80 })
    // Within the second after the 429 nothing more went but the other batch already on its way.
    expect(fake.requests.filter((request) => request.at < refused!.at + 1000).length).toBeLessThanOrEqual(1)
    const retried = fake.requests.filter((request) => request.idempotencyKey === refused!.key)
    expect(retried).toHaveLength(1)
    expect(retried[0]!.at - refused!.at).toBeGreaterThanOrEqual(1000)
    expect(fake.sent).toHaveLength(80)
    expect([...fake.timesSent().values()].every((times) => times === 1)).toBe(true)
    const rows = await outboxRows(emails.map((email) => email.id))
    expect(rows.filter((row) => row.attempts === 2)).toHaveLength(refused!.size)
    expect(rows.every((row) => row.status === 'sent')).toBe(true)
  })
})

describe('one throttle for both paths', () => {
  test('single emails and batches share the rate: 2 requests a second between them, and Resend never says 429', async () => {
    // Requests reach the fake up to a few tens of milliseconds after their turn on a loaded machine
    // (a batch is 100 emails to serialise), so it forgives 100 ms; without one shared throttle the
    // two paths would send four requests in the first instant, which no such allowance forgives.
    useFakeResend({ ratePerSecond: 2, windowMs: 900 })
    const tag = randomUUID()
    const receipts = await db.transaction().execute(async (trx) => {
      const ids: string[] = []
      for (let index = 0; index < 3; index++) {
        const { id } = await enqueueEmail(trx, {
          template: 'donation-receipt',
          to: `receipt-${index}@example.org`,
          props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
          idempotencyKey: `donation-receipt/${tag}/${index}`,
        })
        ids.push(id)
      }
      return ids
    })
    await appealUpdateTo(300)
    const throttle = createThrottle(2)
    const shared = dependencies({ throttle, lanes: 2 })
    const batches = sendEmailBatches(db, shared)
    const singles = Promise.all(receipts.map((id) => deliverOutboxEmail(db, id, shared)))
    await Promise.all([batches, singles])

    expect(fake.requests.filter((request) => request.status === 429)).toEqual([])
    expect(fake.requests.map((request) => request.path).sort()).toEqual(['/emails', '/emails', '/emails', '/emails/batch', '/emails/batch', '/emails/batch'])
    const times = fake.requests.map((request) => request.at)
    for (let index = 2; index < times.length; index++) expect(times[index]! - times[index - 2]!).toBeGreaterThanOrEqual(900)
    expect(fake.sent).toHaveLength(303)
  })
})
