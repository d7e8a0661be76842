import { randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { action } from '#app/routes/webhooks.resend.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'

const db = getDb()
const SECRET = `whsec_${Buffer.from('resend-webhook-test-secret-0123456789').toString('base64')}`

beforeAll(() => {
  process.env.RESEND_WEBHOOK_SECRET = SECRET
  resetEnvForTests()
})
afterAll(() => {
  delete process.env.RESEND_WEBHOOK_SECRET
  resetEnvForTests()
})

/** A webhook as Resend (Svix) sends it, signed with the shared secret. */
function signedRequest(event: object, options: { id?: string; secret?: string; body?: string } = {}) {
  const id = options.id ?? `msg_${randomUUID()}`
  const body = JSON.stringify(event)
  const timestamp = new Date()
  const signature = new Webhook(options.secret ?? SECRET).sign(id, timestamp, body)
  return new Request('http://localhost/webhooks/resend', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'svix-signature': signature,
    },
    body: options.body ?? body,
  })
}

const bounce = (to: string) => ({
  type: 'email.bounced',
  created_at: new Date().toISOString(),
  data: { email_id: randomUUID(), to: [to], subject: 'Thank you for your gift' },
})

async function suppressions(email: string) {
  return db.selectFrom('email_suppressions').selectAll().where('email', '=', email).execute()
}

test('a bounce delivered twice makes one suppression', async () => {
  const event = bounce('Gone.Away@example.org')
  const id = `msg_${randomUUID()}`
  const first = await action({ request: signedRequest(event, { id }), params: {}, context: {} })
  const second = await action({ request: signedRequest(event, { id }), params: {}, context: {} })
  expect(first.status).toBe(204)
  expect(second.status).toBe(204)
  expect(await suppressions('gone.away@example.org')).toEqual([
    expect.objectContaining({ email: 'gone.away@example.org', reason: 'bounced' }),
  ])
  const recorded = await db.selectFrom('webhook_events').selectAll().where('event_id', '=', id).execute()
  expect(recorded).toHaveLength(1)
})

test('a complaint suppresses the address', async () => {
  const response = await action({
    request: signedRequest({ ...bounce('angry@example.org'), type: 'email.complained' }),
    params: {},
    context: {},
  })
  expect(response.status).toBe(204)
  expect((await suppressions('angry@example.org'))[0]?.reason).toBe('complained')
})

test('a delivery event records when the email arrived', async () => {
  const outbox = await db
    .insertInto('email_outbox')
    .values({ template: 'staff-sign-in', idempotency_key: `t/${randomUUID()}`, to_address: 'a@example.org', status: 'sent', provider_message_id: 'resend-msg-1' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const deliveredAt = '2026-11-20T10:00:00.000Z'
  const response = await action({
    request: signedRequest({ type: 'email.delivered', created_at: deliveredAt, data: { email_id: 'resend-msg-1', to: ['a@example.org'] } }),
    params: {},
    context: {},
  })
  expect(response.status).toBe(204)
  const row = await db.selectFrom('email_outbox').select('delivered_at').where('id', '=', outbox.id).executeTakeFirstOrThrow()
  expect(row.delivered_at?.toISOString()).toBe(deliveredAt)
})

test('a bad signature, a tampered body or a wrong secret get 400 and change nothing', async () => {
  const event = bounce('tampered@example.org')
  const tampered = signedRequest(event, { body: JSON.stringify(bounce('someone-else@example.org')) })
  const wrongSecret = signedRequest(event, { secret: `whsec_${Buffer.from('another-secret-entirely-0123456789').toString('base64')}` })
  const unsigned = new Request('http://localhost/webhooks/resend', { method: 'POST', body: JSON.stringify(event) })
  for (const request of [tampered, wrongSecret, unsigned]) {
    const response = await action({ request, params: {}, context: {} })
    expect(response.status).toBe(400)
  }
  expect(await suppressions('tampered@example.org')).toEqual([])
  expect(await suppressions('someone-else@example.org')).toEqual([])
})
