import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { expect, test } from 'vitest'
import { action, loader } from '#app/routes/staff.emails.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()

test('failed emails are listed for staff, and sending one again queues it with its job and an audit entry', async () => {
  const failed = await db
    .insertInto('email_outbox')
    .values({ template: 'staff-sign-in', idempotency_key: `t/${randomUUID()}`, to_address: 'gone@example.org', status: 'failed', attempts: 9, last_error: '500 internal_server_error: boom' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const staff = await createStaff('staff')
  const cookie = await sessionCookieFor(staff.id)

  const page = await settle(() => loader({ request: getRequest('/staff/emails', { cookie }), params: {}, context: {} }))
  expect(page.body).toMatchObject({ emails: [expect.objectContaining({ id: failed.id, to: 'gone@example.org', lastError: '500 internal_server_error: boom' })] })

  const crossSite = await settle(() =>
    action({ request: postRequest('/staff/emails', { emailId: failed.id }, { cookie, headers: { Origin: 'https://evil.example' } }), params: {}, context: {} }),
  )
  expect(crossSite.status).toBe(403)
  expect((await db.selectFrom('email_outbox').select('status').where('id', '=', failed.id).executeTakeFirstOrThrow()).status).toBe('failed')

  const retried = await settle(() => action({ request: postRequest('/staff/emails', { emailId: failed.id }, { cookie }), params: {}, context: {} }))
  expect(retried.body).toEqual({ message: 'The email is queued to be sent again.' })
  expect((await db.selectFrom('email_outbox').select('status').where('id', '=', failed.id).executeTakeFirstOrThrow()).status).toBe('queued')
  const { rows } = await sql<{ n: number }>`select count(*)::bigint as n from graphile_worker.jobs where key = ${`email:${failed.id}`}`.execute(db)
  expect(rows[0]!.n).toBe(1)
  expect(await db.selectFrom('audit_log').select('action').where('subject_id', '=', failed.id).execute()).toEqual([{ action: 'email.retry' }])

  const again = await settle(() => action({ request: postRequest('/staff/emails', { emailId: failed.id }, { cookie }), params: {}, context: {} }))
  expect(again.body).toEqual({ message: 'That email is no longer waiting for a retry.' })
  const bad = await settle(() => action({ request: postRequest('/staff/emails', { emailId: 'nope' }, { cookie }), params: {}, context: {} }))
  expect(bad.status).toBe(400)
})
