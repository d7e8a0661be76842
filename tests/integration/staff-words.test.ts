import { beforeAll, expect, test } from 'vitest'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { loader as auditLoader } from '#app/routes/staff.audit.tsx'
import { loader as donationLoader } from '#app/routes/staff.donations.$id.tsx'
import { completedSession, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'
import { createStaff, getRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

/** Issue 13: staff pages say what happened in words, not the stored keys and JSON. */

const db = getDb()
let adminId: string
let cookie: string

beforeAll(async () => {
  useTestStripe()
  adminId = (await createStaff('admin')).id
  cookie = await sessionCookieFor(adminId)
})

test('a donation’s history reads as words and money, not JSON', async () => {
  const appeal = await createAppeal()
  const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 5_097 })
  const paymentIntent = `pi_${donationId.replaceAll('-', '').slice(0, 16)}`
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 5_097, paymentIntent })))).toBe(200)
  expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: 5_097, amountRefundedMinor: 1_000 })))).toBe(200)

  const page = await settle(() => donationLoader({ request: getRequest(`/staff/donations/${donationId}`, { cookie }), params: { id: donationId }, context: {} }))
  expect(page.status).toBe(200)
  const events = (page.body as { events: { what: string; details: string }[] }).events
  expect(events.map(({ what, details }) => ({ what, details }))).toEqual([
    { what: 'Payment confirmed', details: '£50.97 charged' },
    { what: 'Refunded', details: '£10.00, £10.00 refunded in all' },
  ])
})

test('the audit log names each action in words, with its key for the filter', async () => {
  await recordAudit(db, { staffUserId: adminId, action: 'staff.signed_in', subjectType: 'staff_user', subjectId: adminId })
  await recordAudit(db, { staffUserId: adminId, action: 'something.new_here', subjectType: null, subjectId: null })
  const answer = await settle(() => auditLoader({ request: getRequest(`/staff/audit?staff=${adminId}`, { cookie }), params: {}, context: {} }))
  expect(answer.status).toBe(200)
  const entries = (answer.body as { entries: { action: string; actionName: string }[] }).entries
  expect(entries.slice(0, 2).map(({ action, actionName }) => ({ action, actionName }))).toEqual([
    { action: 'something.new_here', actionName: 'Something new here' },
    { action: 'staff.signed_in', actionName: 'Signed in' },
  ])
})
