import { beforeAll, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { loader as listLoader } from '#app/routes/staff.donations._index.tsx'
import { loader as exportLoader } from '#app/routes/staff.donations.export[.]csv.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'
import { createStaff, getRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { readCsv } from './csv-fixtures.ts'

/**
 * Issue 13: staff open the donations list to see gifts. Declined, abandoned and unfinished
 * checkouts are rows too, but they are not gifts: the list and its CSV leave them out unless the
 * status filter asks for them.
 */

const db = getDb()
const args = (request: Request) => ({ request, params: {}, context: {} })
let cookie: string

beforeAll(async () => {
  useTestStripe()
  cookie = await sessionCookieFor((await createStaff('staff')).id)
})

type ListData = Extract<Awaited<ReturnType<typeof listLoader>>, { donations: unknown }>

async function listed(query: string) {
  const answer = await settle(() => listLoader(args(getRequest(`/staff/donations${query}`, { cookie }))))
  expect(answer.status, query).toBe(200)
  return (answer.body as ListData).donations.map((donation) => donation.id).sort()
}

async function exported(query: string) {
  const response = (await exportLoader(args(getRequest(`/staff/donations/export.csv${query}`, { cookie })))) as Response
  expect(response.status, query).toBe(200)
  const [, ...rows] = await readCsv(response)
  return rows.map((row) => row[1]!).sort()
}

test('the donations list and its CSV show gifts by default; the status filter shows declined and abandoned checkouts', async () => {
  const appeal = await createAppeal()
  const gift = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: gift.donationId, amountMinor: 2_500, paymentIntent: `pi_${gift.donationId.slice(0, 8)}` })))).toBe(200)
  const onItsWay = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_500 })
  const unfinished = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
  const declined = await createPendingDonation({ appealId: appeal.id, amountMinor: 700 })
  const abandoned = await createPendingDonation({ appealId: appeal.id, amountMinor: 900 })
  await db.updateTable('donations').set({ status: 'processing' }).where('id', '=', onItsWay.donationId).execute()
  await db.updateTable('donations').set({ status: 'failed' }).where('id', '=', declined.donationId).execute()
  await db.updateTable('donations').set({ status: 'abandoned' }).where('id', '=', abandoned.donationId).execute()

  const gifts = [gift.donationId, onItsWay.donationId].sort()
  const everything = [gift.donationId, onItsWay.donationId, unfinished.donationId, declined.donationId, abandoned.donationId].sort()

  expect(await listed(`?appeal=${appeal.id}`)).toEqual(gifts)
  expect(await exported(`?appeal=${appeal.id}`)).toEqual(gifts)
  // The form's empty choice is the same default.
  expect(await listed(`?appeal=${appeal.id}&status=`)).toEqual(gifts)

  expect(await listed(`?appeal=${appeal.id}&status=all`)).toEqual(everything)
  expect(await exported(`?appeal=${appeal.id}&status=all`)).toEqual(everything)
  expect(await listed(`?appeal=${appeal.id}&status=failed`)).toEqual([declined.donationId])
  expect(await listed(`?appeal=${appeal.id}&status=abandoned`)).toEqual([abandoned.donationId])
  expect(await exported(`?appeal=${appeal.id}&status=pending`)).toEqual([unfinished.donationId])
})
