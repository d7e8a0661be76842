import { sql } from 'kysely'
import { createElement } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { beforeAll, describe, expect, test } from 'vitest'
import { DonationsChart } from '#app/components/donations-chart.tsx'
import { loader as totalsLoader } from '#app/routes/staff._index.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { parseAmountToMinor } from '#app/utils/money.ts'
import { taxYearAt } from '#app/modules/donations/gift-aid.ts'
import { completedSession, stripeEvent } from '#tests/mocks/stripe.ts'
import { createAppeal, createPendingDonation, deliver, useTestStripe } from './donation-fixtures.ts'
import { createStaff, getRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

type TotalsData = Awaited<ReturnType<typeof totalsLoader>>

const db = getDb()
let cookie: string

/** A gift confirmed through the Stripe webhook at the given moment (the event's creation time). */
async function give(appealId: string, amountMinor: number, at: string, currency = 'GBP') {
  const { donationId } = await createPendingDonation({ appealId, amountMinor, currency })
  const created = Math.floor(new Date(at).getTime() / 1000)
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor, currency }), created))).toBe(200)
}

async function load(query: string) {
  const answer = await settle(() => totalsLoader({ request: getRequest(`/staff${query}`, { cookie }), params: {}, context: {} }))
  return { status: answer.status, data: answer.body as TotalsData }
}

/** The ledger's charges summed directly, per currency and day or week (UTC). */
async function ledgerSeries(from: string, to: string, unit: 'day' | 'week') {
  const { rows } = await sql<{ currency: string; bucket: string; gross: number }>`
    select trim(currency) as currency,
           to_char(date_trunc(${unit}, occurred_at at time zone 'UTC'), 'YYYY-MM-DD') as bucket,
           sum(amount_minor)::bigint as gross
    from ledger_entries
    where kind = 'charge' and occurred_at >= ${`${from}T00:00:00Z`}::timestamptz and occurred_at < (${to}::date + 1)::timestamp at time zone 'UTC'
    group by 1, 2`.execute(db)
  return rows
}

/** The non-zero buckets of the loader's series, in the shape of ledgerSeries's rows. */
function nonZero(series: TotalsData['series']) {
  return series.flatMap((line) => line.buckets.filter((bucket) => bucket.grossMinor !== 0).map((bucket) => ({ currency: line.currency, bucket: bucket.start, gross: bucket.grossMinor })))
}
const byKey = (a: { currency: string; bucket: string }, b: { currency: string; bucket: string }) => `${a.currency}${a.bucket}`.localeCompare(`${b.currency}${b.bucket}`)

beforeAll(async () => {
  useTestStripe()
  const viewer = await createStaff('viewer')
  cookie = await sessionCookieFor(viewer.id)
  const pounds = await createAppeal({ currency: 'GBP' })
  const euros = await createAppeal({ currency: 'EUR' })
  await give(pounds.id, 1_000, '2021-03-01T00:00:00Z')
  await give(pounds.id, 500, '2021-03-01T23:59:59Z')
  await give(euros.id, 700, '2021-03-02T12:00:00Z', 'EUR')
  await give(pounds.id, 2_000, '2021-03-03T09:30:00Z')
  // Just after the range below ends: counted on the 5th, not the 4th.
  await give(pounds.id, 4_000, '2021-03-05T00:00:00Z')
  await give(pounds.id, 9_000, '2021-05-20T15:00:00Z')
})

describe('confirmed gifts over time on /staff', () => {
  test('per day, per currency, with zeros for days without gifts, equal to the ledger', async () => {
    const { status, data } = await load('?from=2021-03-01&to=2021-03-04')
    expect(status).toBe(200)
    expect(data.rangeError).toBeNull()
    expect(data.range).toEqual({ from: '2021-03-01', to: '2021-03-04', unit: 'day' })
    expect(data.series).toEqual([
      { currency: 'EUR', buckets: [{ start: '2021-03-01', grossMinor: 0 }, { start: '2021-03-02', grossMinor: 700 }, { start: '2021-03-03', grossMinor: 0 }, { start: '2021-03-04', grossMinor: 0 }] },
      { currency: 'GBP', buckets: [{ start: '2021-03-01', grossMinor: 1_500 }, { start: '2021-03-02', grossMinor: 0 }, { start: '2021-03-03', grossMinor: 2_000 }, { start: '2021-03-04', grossMinor: 0 }] },
    ])
    expect(nonZero(data.series).sort(byKey)).toEqual((await ledgerSeries('2021-03-01', '2021-03-04', 'day')).sort(byKey))
    // The per-appeal totals stay all time, whatever the range.
    const allTime = await load('')
    expect(data.appeals).toEqual(allTime.data.appeals)
  })

  test('a range with no gifts shows no series rather than failing', async () => {
    const { status, data } = await load('?from=2021-04-01&to=2021-04-30')
    expect(status).toBe(200)
    expect(data.series).toEqual([])
  })

  test('ranges longer than 92 days are grouped by Monday-started week', async () => {
    const { data } = await load('?from=2021-01-01&to=2021-06-30')
    expect(data.range?.unit).toBe('week')
    const gbp = data.series.find((line) => line.currency === 'GBP')!
    // 1 January 2021 was a Friday: the first week starts on Monday 28 December 2020.
    expect(gbp.buckets[0]).toEqual({ start: '2020-12-28', grossMinor: 0 })
    expect(gbp.buckets.at(-1)!.start).toBe('2021-06-28')
    expect(gbp.buckets).toHaveLength(27)
    for (const bucket of gbp.buckets) expect(new Date(`${bucket.start}T00:00:00Z`).getUTCDay()).toBe(1)
    expect(gbp.buckets.find((bucket) => bucket.start === '2021-03-01')!.grossMinor).toBe(7_500)
    expect(gbp.buckets.find((bucket) => bucket.start === '2021-05-17')!.grossMinor).toBe(9_000)
    expect(gbp.buckets.filter((bucket) => bucket.grossMinor === 0)).toHaveLength(25)
    expect(nonZero(data.series).sort(byKey)).toEqual((await ledgerSeries('2021-01-01', '2021-06-30', 'week')).sort(byKey))
    // 92 days is still per day.
    expect((await load('?from=2021-03-01&to=2021-05-31')).data.range?.unit).toBe('day')
  })

  test('the chart shows the same numbers as its table', async () => {
    const { data } = await load('?from=2021-03-01&to=2021-03-07')
    expect(data.series.length).toBe(2)
    for (const line of data.series) {
      const html = renderToStaticMarkup(createElement(DonationsChart, { id: `chart-${line.currency}`, currency: line.currency, unit: data.range!.unit, buckets: line.buckets }))
      expect(html).not.toMatch(/\sstyle=/)
      expect(html).toContain(`role="img" aria-labelledby="chart-${line.currency}-title chart-${line.currency}-desc"`)
      expect(html).toContain(`<title id="chart-${line.currency}-title">`)
      expect(html).toMatch(/<caption>/)
      expect(html).toMatch(/<th scope="col">Day<\/th>/)

      const bars = [...html.matchAll(/<rect[^>]*data-start="([\d-]+)" data-amount-minor="(\d+)"/g)].map((match) => ({ start: match[1], amount: Number(match[2]) }))
      const rows = [...html.matchAll(/<tr data-start="([\d-]+)"><th scope="row">[^<]*<\/th><td[^>]*>([^<]+)<\/td><\/tr>/g)].map((match) => ({
        start: match[1],
        amount: parseAmountToMinor(match[2]!.replace(/[^\d.]/g, ''), line.currency),
      }))
      expect(bars).toHaveLength(7)
      expect(rows).toEqual(bars)
      expect(bars).toEqual(line.buckets.map((bucket) => ({ start: bucket.start, amount: bucket.grossMinor })))
      // Zero days are drawn as zero-height bars.
      const zeroDay = line.buckets.find((bucket) => bucket.grossMinor === 0)!
      expect(html).toMatch(new RegExp(`<rect class="donations-chart__bar donations-chart__bar--zero"[^>]*height="0" data-start="${zeroDay.start}"`))
    }
  })

  test('with no dates the range is the last 30 days, per day', async () => {
    const { data } = await load('')
    const today = new Date().toISOString().slice(0, 10)
    expect(data.range).toMatchObject({ to: today, unit: 'day' })
    expect(data.fields.to).toBe(today)
    for (const line of data.series) {
      expect(line.buckets).toHaveLength(30)
      expect(line.buckets.at(-1)!.start).toBe(today)
    }
  })

  test.each([
    ['?from=2021-02-30&to=2021-03-04', 'That date does not exist.'],
    ['?from=01/03/2021&to=2021-03-04', 'Dates must be written as YYYY-MM-DD.'],
    ['?from=2021-03-05&to=2021-03-04', 'The start date must be on or before the end date.'],
    ['?from=2010-01-01&to=2021-03-04', 'Choose a range of at most 1096 days.'],
  ])('an invalid range %s shows the form with an error, not a failure', async (query, message) => {
    const { status, data } = await load(query)
    expect(status).toBe(200)
    expect(data.rangeError).toBe(message)
    expect(data.range).toBeNull()
    expect(data.series).toEqual([])
    // What was typed is given back to the form, and the all-time totals are still there.
    expect(data.fields.from).toBe(new URLSearchParams(query).get('from'))
    expect(data.appeals.length).toBeGreaterThanOrEqual(2)
  })
})

describe('kept-up totals beside their sources', () => {
  test('the chart can show one appeal, and an appeal not in the list is an error, not a failure', async () => {
    const { data: all } = await load('?from=2021-03-01&to=2021-03-04')
    const pounds = all.appeals.find((appeal) => appeal.currency === 'GBP' && appeal.grossMinor > 0)!
    const { status, data } = await load(`?from=2021-03-01&to=2021-03-04&appeal=${pounds.appealId}`)
    expect(status).toBe(200)
    expect(data.series.map((line) => line.currency)).toEqual(['GBP'])
    expect(nonZero(data.series)).toEqual([
      { currency: 'GBP', bucket: '2021-03-01', gross: 1_500 },
      { currency: 'GBP', bucket: '2021-03-03', gross: 2_000 },
    ])
    const wrong = await load('?from=2021-03-01&to=2021-03-04&appeal=not-an-appeal')
    expect(wrong.status).toBe(200)
    expect(wrong.data.rangeError).toMatch(/Choose an appeal/)
    expect(wrong.data.series).toEqual([])
  })

  test('active monthly gifts and their income follow every change of a plan, as recurring_plans says', async () => {
    const appeal = await createAppeal()
    const plans: string[] = []
    for (const amount of [500, 1_000, 2_500]) plans.push((await createPendingDonation({ appealId: appeal.id, amountMinor: amount, frequency: 'monthly' })).recurringPlanId!)
    const setStatus = (id: string, status: 'active' | 'past_due' | 'cancelled') => db.updateTable('recurring_plans').set({ status }).where('id', '=', id).execute()
    const kept = async () => {
      const { data } = await load('')
      const row = data.appeals.find((entry) => entry.appealId === appeal.id)!
      return { count: row.activeMonthlyCount, income: row.monthlyIncomeMinor }
    }
    const actual = async () => {
      const { rows } = await sql<{ count: number; income: number }>`
        select count(*)::int as count, coalesce(sum(amount_minor), 0)::int as income
        from recurring_plans where appeal_id = ${appeal.id} and status = 'active'`.execute(db)
      return rows[0]!
    }
    const steps: (() => Promise<unknown>)[] = [
      () => setStatus(plans[0]!, 'active'),
      () => setStatus(plans[1]!, 'active'),
      () => setStatus(plans[2]!, 'active'),
      () => setStatus(plans[1]!, 'past_due'),
      () => db.updateTable('recurring_plans').set({ amount_minor: 3_000 }).where('id', '=', plans[2]!).execute(),
      () => setStatus(plans[1]!, 'active'),
      () => setStatus(plans[0]!, 'cancelled'),
      () => setStatus(plans[0]!, 'cancelled'),
    ]
    for (const step of steps) {
      await step()
      expect(await kept()).toEqual(await actual())
    }
    expect(await kept()).toEqual({ count: 2, income: 4_000 })
  })

  test('Gift Aid: this tax year’s eligible net of declared gifts and the 25% it would add, after a refund', async () => {
    const { refundedCharge } = await import('#tests/mocks/stripe.ts')
    const appeal = await createAppeal()
    const declared = await createPendingDonation({ appealId: appeal.id, amountMinor: 10_001, giftAid: true })
    const undeclared = await createPendingDonation({ appealId: appeal.id, amountMinor: 5_000 })
    for (const gift of [
      { ...declared, amount: 10_001 },
      { ...undeclared, amount: 5_000 },
    ]) {
      const paymentIntent = `pi_${gift.donationId.slice(0, 8)}`
      expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: gift.donationId, amountMinor: gift.amount, paymentIntent })))).toBe(200)
      if (gift.amount === 10_001) {
        expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent, amountMinor: gift.amount, amountRefundedMinor: 2_000 })))).toBe(200)
      }
    }
    const { data } = await load('')
    expect(data.giftAid.year).toEqual(taxYearAt(new Date()))
    expect({ eligible: data.giftAid.eligibleMinor, claimable: data.giftAid.giftAidMinor, unclaimed: data.giftAid.unclaimedMinor }).toEqual({
      eligible: 8_001,
      claimable: 2_000,
      unclaimed: 8_001,
    })
    // Gift Aid is no longer an all-time column of the totals tables (ADR 017).
    expect(Object.keys(data.appeals[0]!)).not.toContain('giftAidEligibleMinor')
  })
})

test('each appeal’s gifts in the chosen dates equal what the ledger holds for those dates', async () => {
  const { data } = await load('?from=2021-03-01&to=2021-03-04')
  const { rows } = await sql<{ appeal_id: string; gross: number; donations: number }>`
    select appeal_id, sum(amount_minor)::bigint as gross, count(*)::int as donations
    from ledger_entries
    where kind = 'charge' and occurred_at >= '2021-03-01T00:00:00Z' and occurred_at < '2021-03-05T00:00:00Z'
    group by appeal_id`.execute(db)
  const expected = rows.map((row) => ({ appealId: row.appeal_id, grossMinor: Number(row.gross), donationCount: row.donations })).sort((a, b) => a.appealId.localeCompare(b.appealId))
  const shown = data.inRange.map(({ appealId, grossMinor, donationCount }) => ({ appealId, grossMinor, donationCount })).sort((a, b) => a.appealId.localeCompare(b.appealId))
  expect(shown).toEqual(expected)
  expect(shown.map((row) => row.grossMinor).sort((a, b) => a - b)).toEqual([700, 3_500])
})
