import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { loader as totalsLoader } from '#app/routes/staff._index.tsx'
import { loader as scheduleLoader } from '#app/routes/staff.gift-aid.export[.]csv.ts'
import { GIFT_AID_CSV_HEADER } from '#app/modules/donations/gift-aid.server.ts'
import { taxYearAt } from '#app/modules/donations/gift-aid.ts'
import { getDb } from '#app/utils/db.server.ts'
import { createAppeal, useTestStripe } from './donation-fixtures.ts'
import {
  completion,
  confirmedGift,
  deliverAll,
  disputeEvents,
  giftAidPage,
  markClaimed,
  pendingGift,
  refund,
  scheduleRows,
  scheduleTotalMinor,
  type TestGift,
} from './gift-aid-fixtures.ts'
import { createStaff, getRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
let cookie: string
let admin: string
let pounds: { id: string }
let euros: { id: string }

beforeAll(async () => {
  useTestStripe()
  cookie = await sessionCookieFor((await createStaff('staff')).id)
  admin = await sessionCookieFor((await createStaff('admin')).id)
  pounds = await createAppeal({ currency: 'GBP' })
  euros = await createAppeal({ currency: 'EUR' })
})

async function dashboardGiftAid() {
  const answer = await settle(() => totalsLoader({ request: getRequest('/staff', { cookie }), params: {}, context: {} }))
  expect(answer.status).toBe(200)
  return (answer.body as Awaited<ReturnType<typeof totalsLoader>>).giftAid
}

/** The tests below make their own Gift Aid world: earlier gifts leave it, earlier claims go. */
async function forgetGiftAid() {
  await db.deleteFrom('gift_aid_claim_adjustments').execute()
  await db.deleteFrom('gift_aid_claim_gifts').execute()
  await db.deleteFrom('gift_aid_claims').execute()
  await db.updateTable('donations').set({ gift_aid_declaration_id: null }).where('gift_aid_declaration_id', 'is not', null).execute()
}

describe('the schedule', () => {
  test("HMRC's columns: confirmed GBP gifts with a declaration in the range, UK dates as DD/MM/YY, what the donor gave less refunds", async () => {
    await forgetGiftAid()
    const gift = (options: Omit<Parameters<typeof confirmedGift>[0], 'appealId'>) => confirmedGift({ appealId: pounds.id, houseNameOrNumber: ' 12 ', postcode: 'n19gu', ...options })

    // 23:30 UTC on 5 April is 00:30 on 6 April in London: the new tax year. The covered fee is part of the gift.
    await gift({ amountMinor: 2_500, feeMinor: 45, fullName: '  Mary Ann   Smith ', at: '2025-04-05T23:30:00Z' })
    await gift({ amountMinor: 3_000, fullName: 'Too Early', at: '2025-04-05T22:59:00Z' })
    await confirmedGift({ appealId: euros.id, currency: 'EUR', amountMinor: 4_000, fullName: 'Euro Donor', at: '2025-04-20T10:00:00Z' })
    await gift({ amountMinor: 5_000, fullName: 'Cancelled Before', at: '2025-04-20T10:00:00Z', cancelledAt: new Date('2025-04-01T00:00:00Z') })
    await gift({ amountMinor: 5_500, fullName: 'Cancelled After', at: '2025-04-20T11:00:00Z', cancelledAt: new Date('2025-05-01T00:00:00Z') })
    await gift({ amountMinor: 1_500, fullName: 'No Declaration', declared: false, at: '2025-04-20T12:00:00Z' })
    // Refunded in part: listed at what is left, fee included.
    const partly = await gift({ amountMinor: 6_000, feeMinor: 45, fullName: 'Refunded Donor', at: '2025-04-21T10:00:00Z' })
    await deliverAll([refund(partly, 1_045)])
    const fully = await gift({ amountMinor: 2_000, fullName: 'Fully Refunded', at: '2025-04-21T11:00:00Z' })
    await deliverAll([refund(fully, 2_000)])
    const lost = await gift({ amountMinor: 4_000, fullName: 'Dispute Lost', at: '2025-04-22T10:00:00Z' })
    await deliverAll(disputeEvents(lost, 4_000, 'lost'))
    const won = await gift({ amountMinor: 4_200, fullName: 'Dispute Won', at: '2025-04-22T11:00:00Z' })
    await deliverAll(disputeEvents(won, 4_200, 'won'))
    // HMRC: a double-barrelled last name with a space; names of at most 35 characters.
    await gift({ amountMinor: 700, fullName: 'Sarah House-Martin', at: '2025-04-23T10:00:00Z' })
    await gift({ amountMinor: 800, fullName: 'Abdulrahman Muhammad Abdulaziz Al-Rashid Hassan', at: '2025-04-23T11:00:00Z' })
    // A name typed as a formula is only text in a spreadsheet.
    await gift({ amountMinor: 900, fullName: '=HYPERLINK("http://evil.example") Smith', at: '2025-04-23T12:00:00Z' })
    // A one-word name cannot fill both name boxes: left out, and counted apart.
    await gift({ amountMinor: 1_000, fullName: 'Cher', at: '2025-05-01T10:00:00Z' })

    const response = (await scheduleLoader({ request: getRequest('/staff/gift-aid/export.csv?from=2025-04-06&to=2026-04-05', { cookie }), params: {}, context: {} })) as Response
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Disposition')).toBe('attachment; filename="gift-aid-unclaimed-2025-04-06-to-2026-04-05.csv"')
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const rows = await scheduleRows(cookie, '?from=2025-04-06&to=2026-04-05')
    expect(rows[0]).toEqual([...GIFT_AID_CSV_HEADER])
    expect(rows[0]).toEqual(['Title', 'First name', 'Last name', 'House name or number', 'Postcode', 'Aggregated donations', 'Sponsored event', 'Donation date', 'Amount'])
    expect(rows.slice(1)).toEqual([
      ['', 'Mary Ann', 'Smith', '12', 'N1 9GU', '', '', '06/04/25', '25.45'],
      ['', 'Cancelled', 'After', '12', 'N1 9GU', '', '', '20/04/25', '55.00'],
      ['', 'Refunded', 'Donor', '12', 'N1 9GU', '', '', '21/04/25', '50.00'],
      ['', 'Dispute', 'Won', '12', 'N1 9GU', '', '', '22/04/25', '42.00'],
      ['', 'Sarah', 'House Martin', '12', 'N1 9GU', '', '', '23/04/25', '7.00'],
      ['', 'Abdulrahman Muhammad Abdulaziz Al-R', 'Hassan', '12', 'N1 9GU', '', '', '23/04/25', '8.00'],
      ['', `'=HYPERLINK("http://evil.example")`, 'Smith', '12', 'N1 9GU', '', '', '23/04/25', '9.00'],
    ])
    // Every box the schedule needs has a value, and no box holds a 0 for nothing.
    for (const row of rows.slice(1)) {
      expect(row.slice(1, 5).every((cell) => cell !== '' && cell === cell.trim())).toBe(true)
      expect(row[7]).toMatch(/^\d{2}\/\d{2}\/\d{2}$/)
      expect(row[8]).toMatch(/^\d+\.\d{2}$/)
      expect(row.filter((cell) => /^0(\.00)?$/.test(cell))).toEqual([])
    }

    // The page's figures are the schedule's, and name what was left out.
    const { data } = await giftAidPage(cookie, { from: '2025-04-06', to: '2026-04-05' })
    expect(data.overview!.summary).toMatchObject({ eligibleCount: 7, eligibleMinor: scheduleTotalMinor(rows), unclaimedMinor: scheduleTotalMinor(rows), incompleteCount: 1, incompleteMinor: 1_000 })
    expect(data.incomplete).toHaveLength(1)
    // With no claim yet, every eligible gift is unclaimed.
    expect(await scheduleRows(cookie, '?from=2025-04-06&to=2026-04-05&gifts=all')).toEqual(rows)
  })

  test('bad input answers 400 (or 404 for a claim that does not exist) with a message, never 500', async () => {
    for (const query of ['?from=2025-04-06', '?from=2025-02-30&to=2025-03-01', '?from=2025-05-01&to=2025-04-01', '?from=2025-04-06&to=2026-04-05&gifts=some', '?claim=nope']) {
      const response = (await scheduleLoader({ request: getRequest(`/staff/gift-aid/export.csv${query}`, { cookie }), params: {}, context: {} })) as Response
      expect(response.status, query).toBe(400)
      expect(await response.text(), query).not.toBe('')
    }
    const unknown = (await scheduleLoader({ request: getRequest('/staff/gift-aid/export.csv?claim=7c1c3a4e-7a77-4a45-9e3b-2d5c7d3f1e10', { cookie }), params: {}, context: {} })) as Response
    expect(unknown.status).toBe(404)
  })
})

describe('one definition', () => {
  /**
   * The outside check's case: a gift whose donor covered the fee and a gift refunded in part.
   * Before: the dashboard counted both in full (fee included, refund taken off) while the
   * schedule dropped the refunded gift and the fee, so the two never agreed.
   */
  test('a covered fee and a partial refund: the dashboard and the schedule give the same Gift Aid eligible', async () => {
    await forgetGiftAid()
    const year = taxYearAt(new Date())
    const at = new Date(`${year.from}T12:00:00+01:00`)
    await confirmedGift({ appealId: pounds.id, amountMinor: 10_000, feeMinor: 180, fullName: 'Fee Coverer', at })
    const refunded = await confirmedGift({ appealId: pounds.id, amountMinor: 5_000, fullName: 'Partly Refunded', at })
    await deliverAll([refund(refunded, 1_000)])

    const dashboard = await dashboardGiftAid()
    const rows = await scheduleRows(cookie, `?from=${year.from}&to=${year.to}`)
    expect(dashboard.eligibleMinor).toBe(10_180 + 4_000)
    expect(scheduleTotalMinor(rows)).toBe(dashboard.eligibleMinor)
    expect(dashboard.giftAidMinor).toBe(Math.floor(14_180 / 4))
  })

  type When = 'before' | 'start' | 'middle' | 'end' | 'after'
  /** One of some values, by weight (fc.constantFrom favours its first and last). */
  const weighted = <T,>(...choices: [T, number][]) => fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })))
  const giftArbitrary = fc.record({
    // Weighted towards gifts that qualify, so that most runs have some to claim.
    pounds: weighted([true, 6], [false, 1]),
    declared: weighted([true, 6], [false, 1]),
    cancelledBefore: weighted([false, 8], [true, 1]),
    oneWordName: weighted([false, 10], [true, 1]),
    when: weighted<When>(['before', 1], ['start', 1], ['middle', 4], ['end', 1], ['after', 1]),
    amount: fc.integer({ min: 100, max: 50_000 }),
    fee: weighted([0, 2], [35, 1], [95, 1]),
    /** Cumulative refunds as percentages of the charge, before and after the claim. */
    refundsBefore: fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, { arbitrary: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 2 }), weight: 1 }),
    refundsAfter: fc.oneof({ arbitrary: fc.constant([]), weight: 2 }, { arbitrary: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 2 }), weight: 1 }),
    disputeBefore: weighted(['none', 5], ['open', 1], ['won', 1], ['lost', 1]),
    disputeAfter: weighted(['none', 4], ['open', 1], ['won', 1], ['lost', 1]),
    disputePercent: fc.integer({ min: 1, max: 100 }),
    /** Paid after the claim: in the next one. */
    paidAfterClaim: weighted([false, 3], [true, 1]),
  })

  /**
   * Random ledgers (gifts in and out of the tax year and of pounds, with and without declarations,
   * covered fees, partial and full refunds, disputes open, won and lost, before and after a claim):
   * the schedule's total is the dashboard's Gift Aid eligible, both equal a model of the rules
   * computed from the generated ledger alone, and a refund after a claim is the adjustment due.
   */
  test('property: the schedule total equals the dashboard figure, and both equal the rules, for random ledgers', async () => {
    const year = taxYearAt(new Date())
    const start = Date.parse(`${year.from}T00:00:00+01:00`)
    const next = Date.parse(`${year.startYear + 1}-04-06T00:00:00+01:00`)
    const instants: Record<When, Date> = {
      before: new Date(start - 30 * 60_000),
      start: new Date(start + 30 * 60_000),
      middle: new Date(start + 100 * 86_400_000),
      end: new Date(next - 30 * 60_000),
      after: new Date(next + 30 * 60_000),
    }
    const range = { from: year.from, to: year.to }

    await fc.assert(
      fc.asyncProperty(fc.array(giftArbitrary, { minLength: 2, maxLength: 8 }), fc.boolean(), fc.array(fc.nat(), { minLength: 16, maxLength: 16 }), async (specs, claim, shuffle) => {
        await forgetGiftAid()
        const made: { spec: (typeof specs)[number]; gift: TestGift; refunded1: number; held1: number; refunded2: number; held2: number }[] = []
        const phase1: object[] = []
        const phase2: object[] = []
        for (const spec of specs) {
          const gift = await pendingGift({
            appealId: spec.pounds ? pounds.id : euros.id,
            currency: spec.pounds ? 'GBP' : 'EUR',
            amountMinor: spec.amount,
            feeMinor: spec.fee,
            declared: spec.declared,
            fullName: spec.oneWordName ? 'Cher' : 'Maryam Ahmed',
            cancelledAt: spec.cancelledBefore ? new Date(instants[spec.when].getTime() - 86_400_000) : undefined,
          })
          const first = spec.paidAfterClaim ? phase2 : phase1
          first.push(completion(gift, instants[spec.when]))
          const charged = gift.chargedMinor
          let refunded = 0
          for (const percent of spec.refundsBefore) {
            refunded = Math.min(charged, refunded + Math.ceil((charged * percent) / 100))
            first.push(refund(gift, refunded))
          }
          const refunded1 = refunded
          const disputed = Math.ceil((charged * spec.disputePercent) / 100)
          if (spec.disputeBefore !== 'none') first.push(...disputeEvents(gift, disputed, spec.disputeBefore as 'open' | 'won' | 'lost', `dp_before_${gift.donationId.slice(0, 8)}`))
          const held1 = spec.disputeBefore === 'open' || spec.disputeBefore === 'lost' ? disputed : 0
          for (const percent of spec.refundsAfter) {
            refunded = Math.min(charged, refunded + Math.ceil((charged * percent) / 100))
            phase2.push(refund(gift, refunded))
          }
          if (spec.disputeAfter !== 'none') phase2.push(...disputeEvents(gift, disputed, spec.disputeAfter as 'open' | 'won' | 'lost', `dp_after_${gift.donationId.slice(0, 8)}`))
          const held2 = held1 + (spec.disputeAfter === 'open' || spec.disputeAfter === 'lost' ? disputed : 0)
          made.push({ spec, gift, refunded1, held1, refunded2: refunded, held2 })
        }
        // The first events in any order (a refund may come before its payment), the later ones after the claim, in order.
        const order = phase1.map((event, index) => ({ event, key: shuffle[index % shuffle.length]! + index / 1000 })).sort((a, b) => a.key - b.key)
        await deliverAll(order.map((entry) => entry.event))

        // The model: the rules applied to what was generated.
        const net = (m: (typeof made)[number], phase: 1 | 2) => Math.max(0, m.gift.chargedMinor - (phase === 1 ? m.refunded1 + m.held1 : m.refunded2 + m.held2))
        const qualifies = (m: (typeof made)[number]) =>
          m.spec.pounds && m.spec.declared && !m.spec.cancelledBefore && !m.spec.oneWordName && m.spec.when !== 'before' && m.spec.when !== 'after'
        const claimed = new Map<string, number>()
        if (claim) {
          const eligibleNow = made.filter((m) => qualifies(m) && !m.spec.paidAfterClaim && net(m, 1) > 0)
          const answer = await markClaimed(admin, range)
          if (eligibleNow.length === 0) expect(answer.status).toBe(409)
          else {
            expect(answer.status).toBe(303)
            for (const m of eligibleNow) claimed.set(m.gift.donationId, net(m, 1))
          }
        }
        await deliverAll(phase2)

        const eligible = made.filter((m) => qualifies(m) && net(m, 2) > 0)
        const expected = {
          eligible: eligible.reduce((sum, m) => sum + net(m, 2), 0),
          unclaimed: eligible.filter((m) => !claimed.has(m.gift.donationId)).reduce((sum, m) => sum + net(m, 2), 0),
          overClaimed: made.reduce((sum, m) => sum + Math.max(0, (claimed.get(m.gift.donationId) ?? 0) - net(m, 2)), 0),
        }
        const dashboard = await dashboardGiftAid()
        const all = await scheduleRows(cookie, `?from=${range.from}&to=${range.to}&gifts=all`)
        const unclaimed = await scheduleRows(cookie, `?from=${range.from}&to=${range.to}`)
        const { data: page } = await giftAidPage(cookie, range)
        expect({
          dashboard: dashboard.eligibleMinor,
          schedule: scheduleTotalMinor(all),
          dashboardUnclaimed: dashboard.unclaimedMinor,
          scheduleUnclaimed: scheduleTotalMinor(unclaimed),
          rows: all.length - 1,
          overClaimed: page.overview!.adjustment.overClaimedMinor,
        }).toEqual({
          dashboard: expected.eligible,
          schedule: expected.eligible,
          dashboardUnclaimed: expected.unclaimed,
          scheduleUnclaimed: expected.unclaimed,
          rows: eligible.length,
          overClaimed: expected.overClaimed,
        })
        expect(dashboard.giftAidMinor).toBe(Math.floor(expected.eligible / 4))
        expect(dashboard.adjustmentTaxMinor).toBe(Math.ceil(expected.overClaimed / 4))
      }),
      { seed: 17, numRuns: Number(process.env.FUZZ_RUNS ?? 25) },
    )
  }, 300_000)
})
