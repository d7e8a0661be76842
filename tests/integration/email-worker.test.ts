import { http, HttpResponse } from 'msw'
import { afterAll, expect, test } from 'vitest'
import { emailTemplates } from '#emails/index.ts'
import { loader as mailboxLoader } from '#app/routes/dev.mailbox._index.tsx'
import { loader as mailboxEmailLoader } from '#app/routes/dev.mailbox.$id.tsx'
import { loader as mailboxHtmlLoader } from '#app/routes/dev.mailbox.$id_.html.ts'
import { loader as attachmentLoader } from '#app/routes/dev.mailbox.$id_.attachments.$index.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { startAppWorker, type AppWorker } from '#app/worker/worker.server.ts'
import { server } from '#tests/mocks/node.ts'
import { clearResendCalls, recordResendCall, RESEND_EMAILS_URL, resendCalls } from '#tests/mocks/resend.ts'

const db = getDb()
let worker: AppWorker | undefined

afterAll(async () => {
  await worker?.stop()
  delete process.env.RESEND_API_KEY
  resetEnvForTests()
})

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function enqueue(to: string, key: string, attachments = false) {
  return db.transaction().execute((trx) =>
    enqueueEmail(trx, {
      template: 'donation-receipt',
      to,
      props: emailTemplates['donation-receipt'].previewProps as Record<string, unknown>,
      idempotencyKey: key,
      attachments: attachments
        ? [{ filename: 'event.ics', contentType: 'text/calendar', contentBase64: Buffer.from('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n').toString('base64') }]
        : [],
    }),
  )
}

async function status(outboxId: string, wanted: string) {
  const row = await db.selectFrom('email_outbox').select('status').where('id', '=', outboxId).executeTakeFirstOrThrow()
  return row.status === wanted ? row : undefined
}

test('without a Resend key, the worker delivers into the development mailbox', async () => {
  delete process.env.RESEND_API_KEY
  resetEnvForTests()
  const runner = await startAppWorker()
  try {
    const { id } = await enqueue('mailbox-reader@example.org', 'donation-receipt/mailbox-1', true)
    await waitFor(() => status(id, 'sent'))
    const { emails } = await mailboxLoader({ request: new Request('http://localhost/dev/mailbox'), params: {}, context: {} })
    const listed = emails.find((email) => email.to_address === 'mailbox-reader@example.org')
    expect(listed).toBeDefined()
    const { email } = await mailboxEmailLoader({ params: { id: listed!.id }, request: new Request('http://localhost'), context: {} })
    expect(email.subject).toBe(listed!.subject)
    expect(email.text.length).toBeGreaterThan(50)
    expect(email.attachments).toEqual([{ filename: 'event.ics', contentType: 'text/calendar' }])
    const html = await mailboxHtmlLoader({ params: { id: listed!.id }, request: new Request('http://localhost'), context: {} })
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await html.text()).toContain('<html')
    const attachment = await attachmentLoader({ params: { id: listed!.id, index: '0' }, request: new Request('http://localhost'), context: {} })
    expect(await attachment.text()).toBe('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n')
    expect(resendCalls).toHaveLength(0)
  } finally {
    await runner.stop()
  }
})

test('without a Resend key, emails sent in a batch land in the development mailbox like the others', async () => {
  delete process.env.RESEND_API_KEY
  resetEnvForTests()
  const runner = await startAppWorker()
  try {
    const base = emailTemplates['appeal-update'].previewProps
    const ids = await db.transaction().execute(async (trx) => {
      const queued: string[] = []
      for (const name of ['Amina', 'Yusuf', 'Zoë']) {
        const email = await enqueueEmail(trx, {
          template: 'appeal-update',
          to: `${name.toLowerCase()}-news@example.org`.replace('ë', 'e'),
          props: { ...base, name, unsubscribeUrl: `https://example.org/updates/stop?who=${encodeURIComponent(name)}` },
          idempotencyKey: `appeal-update:mailbox:${name}`,
        })
        queued.push(email.id)
      }
      return queued
    })
    for (const id of ids) await waitFor(() => status(id, 'sent'))
    const { emails } = await mailboxLoader({ request: new Request('http://localhost/dev/mailbox'), params: {}, context: {} })
    const listed = emails.filter((email) => email.to_address.endsWith('-news@example.org'))
    expect(listed.map((email) => email.to_address).sort()).toEqual(['amina-news@example.org', 'yusuf-news@example.org', 'zoe-news@example.org'])
    const { email, batch } = await mailboxEmailLoader({ params: { id: listed.find((email) => email.to_address.startsWith('zoe'))!.id }, request: new Request('http://localhost'), context: {} })
    expect(email.text).toContain('Dear Zoë,')
    expect(batch).toEqual({ id: expect.any(String), size: 3 })
    expect(resendCalls).toHaveLength(0)
  } finally {
    await runner.stop()
  }
})

test('with a Resend key, the worker sends through Resend and honours Retry-After', async () => {
  process.env.RESEND_API_KEY = 're_test_worker_key'
  resetEnvForTests()
  clearResendCalls()
  let calls = 0
  server.use(
    http.post(RESEND_EMAILS_URL, async ({ request }) => {
      calls += 1
      if (calls === 1) {
        await recordResendCall(request, 429)
        return HttpResponse.json({ statusCode: 429, name: 'rate_limit_exceeded', message: 'slow down' }, { status: 429, headers: { 'retry-after': '1' } })
      }
      await recordResendCall(request, 200)
      return HttpResponse.json({ id: 'sent-by-worker' })
    }),
  )
  worker = await startAppWorker()
  const { id } = await enqueue('worker@example.org', 'donation-receipt/worker-1')
  const sent = await waitFor(() => status(id, 'sent'))
  expect(sent.status).toBe('sent')
  expect(resendCalls.map((call) => call.status)).toEqual([429, 200])
  expect(new Set(resendCalls.map((call) => call.idempotencyKey))).toEqual(new Set(['donation-receipt/worker-1']))
})
