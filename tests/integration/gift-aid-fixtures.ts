import { expect } from 'vitest'
import { loader as giftAidPageLoader, action as giftAidPageAction } from '#app/routes/staff.gift-aid._index.tsx'
import { loader as scheduleLoader } from '#app/routes/staff.gift-aid.export[.]csv.ts'
import { getDb } from '#app/utils/db.server.ts'
import { parseAmountToMinor } from '#app/utils/money.ts'
import { completedSession, dispute, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { readCsv } from './csv-fixtures.ts'
import { createPendingDonation, deliver } from './donation-fixtures.ts'
import { getRequest, postRequest, settle } from './staff-fixtures.ts'

/** A gift as the tests make it: a pending donation with (or without) a declaration, paid later by an event. */
export type TestGift = { donationId: string; paymentIntent: string; chargedMinor: number; currency: string }

const seconds = (at: Date | string) => Math.floor(new Date(at).getTime() / 1000)

/**
 * A donation waiting for its payment, with a Gift Aid declaration unless `declared` is false. A
 * covered fee is part of the charge, as checkout makes it.
 */
export async function pendingGift(options: {
  appealId: string
  amountMinor: number
  feeMinor?: number
  currency?: string
  declared?: boolean
  fullName?: string
  houseNameOrNumber?: string
  postcode?: string
  cancelledAt?: Date
}): Promise<TestGift> {
  const db = getDb()
  const currency = options.currency ?? 'GBP'
  const { donationId } = await createPendingDonation({ appealId: options.appealId, amountMinor: options.amountMinor, currency, giftAid: options.declared !== false })
  const donation = await db
    .updateTable('donations')
    .set({ fee_cover_minor: options.feeMinor ?? 0 })
    .where('id', '=', donationId)
    .returning('gift_aid_declaration_id')
    .executeTakeFirstOrThrow()
  if (donation.gift_aid_declaration_id) {
    await db
      .updateTable('gift_aid_declarations')
      .set({
        ...(options.fullName === undefined ? {} : { full_name: options.fullName }),
        ...(options.houseNameOrNumber === undefined ? {} : { house_name_or_number: options.houseNameOrNumber }),
        ...(options.postcode === undefined ? {} : { postcode: options.postcode }),
        cancelled_at: options.cancelledAt ?? null,
      })
      .where('id', '=', donation.gift_aid_declaration_id)
      .execute()
  }
  return { donationId, paymentIntent: `pi_${donationId.replaceAll('-', '').slice(0, 20)}`, chargedMinor: options.amountMinor + (options.feeMinor ?? 0), currency }
}

export const completion = (gift: TestGift, at: Date | string) =>
  stripeEvent('checkout.session.completed', completedSession({ donationId: gift.donationId, amountMinor: gift.chargedMinor, currency: gift.currency, paymentIntent: gift.paymentIntent }), seconds(at))

/** Stripe's refund event carries the charge's cumulative refunded amount. */
export const refund = (gift: TestGift, cumulativeMinor: number) =>
  stripeEvent('charge.refunded', refundedCharge({ paymentIntent: gift.paymentIntent, amountMinor: gift.chargedMinor, amountRefundedMinor: cumulativeMinor }))

/** A dispute opened and, unless it stays open, closed: its events in order. */
export function disputeEvents(gift: TestGift, amountMinor: number, outcome: 'open' | 'won' | 'lost', id?: string) {
  const events = [stripeEvent('charge.dispute.created', dispute({ paymentIntent: gift.paymentIntent, amountMinor, status: 'needs_response', id }))]
  if (outcome !== 'open') events.push(stripeEvent('charge.dispute.closed', dispute({ paymentIntent: gift.paymentIntent, amountMinor, status: outcome, id })))
  return events
}

export async function deliverAll(events: object[]) {
  for (const event of events) expect(await deliver(event)).toBe(200)
}

/** A gift confirmed through the webhook at `at`. */
export async function confirmedGift(options: Parameters<typeof pendingGift>[0] & { at: Date | string }) {
  const gift = await pendingGift(options)
  await deliverAll([completion(gift, options.at)])
  return gift
}

/** The schedule's rows (header first) as the export route answers `query`. */
export async function scheduleRows(cookie: string, query: string) {
  const response = (await scheduleLoader({ request: getRequest(`/staff/gift-aid/export.csv${query}`, { cookie }), params: {}, context: {} })) as Response
  expect(response.status, query).toBe(200)
  return readCsv(response)
}

/** The sum of the schedule's Amount column, in pence. */
export function scheduleTotalMinor(rows: string[][]) {
  return rows.slice(1).reduce((sum, row) => sum + parseAmountToMinor(row.at(-1)!, 'GBP')!, 0)
}

type PageData = Exclude<Awaited<ReturnType<typeof giftAidPageLoader>>, Response>['data']

export async function giftAidPage(cookie: string, range?: { from: string; to: string }) {
  const query = range ? `?${new URLSearchParams(range)}` : ''
  const answer = await settle(() => giftAidPageLoader({ request: getRequest(`/staff/gift-aid${query}`, { cookie }), params: {}, context: {} }))
  return { status: answer.status, data: answer.body as PageData }
}

/** Marks the schedule the page shows for `range` as claimed, as its form does (fields may be overridden). */
export async function markClaimed(cookie: string, range: { from: string; to: string }, fields: Record<string, string> = {}) {
  const { data } = await giftAidPage(cookie, range)
  const form = {
    ...range,
    fingerprint: data.overview?.summary.unclaimedFingerprint ?? '',
    overClaimedMinor: String(data.overview?.adjustment.overClaimedMinor ?? 0),
    confirm: 'yes',
    ...fields,
  }
  return postClaim(cookie, form)
}

export async function postClaim(cookie: string, form: Record<string, string>) {
  const answer = await settle(() => giftAidPageAction({ request: postRequest('/staff/gift-aid', form, { cookie }), params: {}, context: {} }))
  return { ...answer, body: answer.body as { error: string } | null }
}
