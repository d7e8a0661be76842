import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, expect, test } from 'vitest'
import { startCheckout } from '#app/modules/donations/checkout.server.ts'
import { settleOfflinePayment } from '#app/modules/payments/offline-checkout.server.ts'
import { stopMonthlyGiftUrl } from '#app/utils/signed-links.server.ts'
import { action as checkoutAction, loader as checkoutLoader } from '#app/routes/dev.checkout.$id.tsx'
import { action as stopAction, loader as stopLoader } from '#app/routes/donate.monthly.stop.tsx'
import { loader as thankYouLoader } from '#app/routes/donate.thank-you.tsx'
import { action as staffDonationAction, loader as staffDonationLoader } from '#app/routes/staff.donations.$id.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { appealTotals, createAppeal, outboxFor } from './donation-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
const origin = 'http://localhost:3000'

beforeAll(() => {
  delete process.env.STRIPE_SECRET_KEY
  delete process.env.STRIPE_WEBHOOK_SECRET
  resetEnvForTests()
})

async function offlineDonation(frequency: 'one_off' | 'monthly' = 'one_off') {
  const appeal = await createAppeal()
  const email = `offline-${randomUUID().slice(0, 6)}@example.org`
  const outcome = await startCheckout(
    db,
    {
      appealId: appeal.id,
      submissionId: randomUUID(),
      frequency,
      amountMinor: 2_000,
      coverFee: false,
      name: 'Offline Donor',
      email,
      message: null,
      showName: false,
      showAmount: false,
      showMessage: false,
      updatesOptIn: false,
      giftAid: null,
    },
    { origin, clientIp: `192.0.2.${Math.floor(Math.random() * 200)}` },
  )
  if (outcome.kind !== 'redirect') throw new Error(`unexpected ${outcome.kind}`)
  const donationId = new URL(outcome.url).pathname.split('/').pop()!
  return { appeal, email, url: outcome.url, donationId }
}

function post(url: string, fields: Record<string, string>) {
  return new Request(url, { method: 'POST', body: new URLSearchParams(fields) })
}

async function thankYou(location: string) {
  return thankYouLoader({ request: new Request(new URL(location, origin)), params: {}, context: {} })
}

test('without Stripe keys, checkout leads to the local payment page; paying confirms through the webhook handler', async () => {
  const { url, donationId, email } = await offlineDonation()
  expect(url).toBe(`${origin}/dev/checkout/${donationId}`)
  const page = await checkoutLoader({ request: new Request(url), params: { id: donationId }, context: {} })
  expect(page.donation).toMatchObject({ total: '£20.00', payable: true })

  const response = (await checkoutAction({ request: post(url, { intent: 'pay' }), params: { id: donationId }, context: {} })) as Response
  expect(response.status).toBe(303)
  const location = response.headers.get('location')!
  expect(location).toContain(`/donate/thank-you?session_id=cs_offline_${donationId}`)
  const { gift } = await thankYou(location)
  expect(gift).toMatchObject({ status: 'confirmed', amount: '£20.00' })
  const events = await db.selectFrom('stripe_inbox').select('type').where('source', '=', 'offline').where('state', '=', 'applied').execute()
  expect(events.map((event) => event.type)).toContain('checkout.session.completed')
  expect((await outboxFor(email)).map((row) => row.template)).toEqual(['donation-receipt'])
})

test('a declined card takes nothing; a delayed payment is processing until the bank settles a minute later', async () => {
  const declined = await offlineDonation()
  const refused = await checkoutAction({ request: post(declined.url, { intent: 'decline' }), params: { id: declined.donationId }, context: {} })
  expect((refused as { init: { status: number } }).init.status).toBe(402)
  expect((await db.selectFrom('donations').select('status').where('id', '=', declined.donationId).executeTakeFirstOrThrow()).status).toBe('pending')

  const delayed = await offlineDonation()
  const response = (await checkoutAction({ request: post(delayed.url, { intent: 'delayed' }), params: { id: delayed.donationId }, context: {} })) as Response
  expect((await thankYou(response.headers.get('location')!)).gift.status).toBe('processing')
  const { rows } = await sql<{ run_at: Date }>`select run_at from graphile_worker.jobs where key = ${`settle-offline:${delayed.donationId}`}`.execute(db)
  expect(rows[0]!.run_at.getTime() - Date.now()).toBeGreaterThan(50_000)
  await settleOfflinePayment(db, delayed.donationId)
  expect((await thankYou(response.headers.get('location')!)).gift.status).toBe('confirmed')
})

test('the thank-you page knows only gifts by their session, and shows nothing from the query string', async () => {
  await expect(thankYou('/donate/thank-you?session_id=cs_offline_unknown&amount=999999')).rejects.toMatchObject({ status: 404 })
  await expect(thankYou('/donate/thank-you')).rejects.toMatchObject({ status: 404 })
})

test('a monthly gift is stopped from the signed link in its receipt; a forged link is refused', async () => {
  const { url, donationId, email } = await offlineDonation('monthly')
  await checkoutAction({ request: post(url, { intent: 'pay' }), params: { id: donationId }, context: {} })
  const { recurring_plan_id: planId } = await db.selectFrom('donations').select('recurring_plan_id').where('id', '=', donationId).executeTakeFirstOrThrow()
  const plan = () => db.selectFrom('recurring_plans').select('status').where('id', '=', planId!).executeTakeFirstOrThrow()
  expect((await plan()).status).toBe('active')

  const link = new URL(stopMonthlyGiftUrl(planId!))
  const forged = new URL(link)
  forged.searchParams.set('signature', 'A'.repeat(43))
  await expect(stopLoader({ request: new Request(forged), params: {}, context: {} })).rejects.toMatchObject({ status: 404 })
  const page = await stopLoader({ request: new Request(link), params: {}, context: {} })
  expect(page.plan).toMatchObject({ amount: '£20.00', stopped: false })

  const result = await stopAction({
    // The page's form posts the link's fields, its signed expiry among them (docs/decisions/021).
    request: post(link.toString(), { plan: planId!, expires: link.searchParams.get('expires')!, signature: link.searchParams.get('signature')! }),
    params: {},
    context: {},
  })
  expect(result).toEqual({ outcome: 'stopping' })
  expect((await plan()).status).toBe('cancelled')
  expect((await outboxFor(email)).map((row) => row.template).sort()).toEqual(['monthly-gift-cancelled', 'monthly-gift-receipt'])
})

test('in the demo a staff refund goes through as Stripe\'s would: a signed charge.refunded into the inbox, then applied', async () => {
  const { url, donationId, appeal } = await offlineDonation()
  await checkoutAction({ request: post(url, { intent: 'pay' }), params: { id: donationId }, context: {} })
  expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_000, refunded_minor: 0, net_minor: 2_000 })

  const cookie = await sessionCookieFor((await createStaff('staff')).id)
  const refund = (fields: Record<string, string>) =>
    settle(() => staffDonationAction({ request: postRequest(`/staff/donations/${donationId}`, fields, { cookie }), params: { id: donationId }, context: {} }))
  const page = await settle(() => staffDonationLoader({ request: getRequest(`/staff/donations/${donationId}`, { cookie }), params: { id: donationId }, context: {} }))
  expect(page.body).toMatchObject({ offlineCheckout: true, donation: { refundableMinor: 2_000 } })

  // Part of it: the totals, the ledger and the history move at once, as when Stripe reports it.
  const partial = await refund({ intent: 'refund', kind: 'partial', amount: '7.50' })
  expect(partial.status).toBe(200)
  expect(partial.body).toMatchObject({ ok: true, message: expect.stringMatching(/^Refund of 7\.50 GBP made in the demo/) })
  expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 2_000, refunded_minor: 750, net_minor: 1_250 })
  const inbox = await db.selectFrom('stripe_inbox').select(['type', 'state', 'source']).where('type', '=', 'charge.refunded').where('waits_for', 'is', null).execute()
  expect(inbox).toContainEqual({ type: 'charge.refunded', state: 'applied', source: 'offline' })
  const ledger = await db.selectFrom('ledger_entries').select(['kind', 'amount_minor']).where('donation_id', '=', donationId).orderBy('id').execute()
  expect(ledger).toEqual([
    { kind: 'charge', amount_minor: 2_000 },
    { kind: 'refund', amount_minor: -750 },
  ])

  // The rest: refunded in full, and nothing more can be refunded.
  expect((await refund({ intent: 'refund', kind: 'full' })).status).toBe(200)
  const donation = await db.selectFrom('donations').select(['refunded_minor', 'stripe_charge_id']).where('id', '=', donationId).executeTakeFirstOrThrow()
  expect(donation).toEqual({ refunded_minor: 2_000, stripe_charge_id: `ch_offline_${donationId}` })
  expect(await appealTotals(appeal.id)).toMatchObject({ refunded_minor: 2_000, net_minor: 0 })
  const history = await db.selectFrom('donation_events').select('type').where('donation_id', '=', donationId).orderBy('id').execute()
  expect(history.map((row) => row.type)).toEqual(['created', 'confirmed', 'refund_requested', 'refunded', 'refund_requested', 'refunded'])
  const again = await refund({ intent: 'refund', kind: 'full' })
  expect(again.status).toBe(400)
  expect(again.body).toMatchObject({ message: 'This donation has been refunded in full already.' })
})
