import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { createAppeal, useTestStripe } from './donation-fixtures.ts'
import { confirmedGift, deliverAll, disputeEvents, giftAidPage, markClaimed, postClaim, refund, scheduleRows, scheduleTotalMinor } from './gift-aid-fixtures.ts'
import { createStaff, sessionCookieFor } from './staff-fixtures.ts'

/**
 * Claim batches. Each test keeps to its own tax year, so that a claim in one never takes another's
 * gifts; adjustments are the organisation's, so only the last test gives money back after a claim.
 */

const db = getDb()
let admin: string
let adminId: string
let staff: string
let appealId: string

beforeAll(async () => {
  useTestStripe()
  const user = await createStaff('admin')
  adminId = user.id
  admin = await sessionCookieFor(user.id)
  staff = await sessionCookieFor((await createStaff('staff')).id)
  appealId = (await createAppeal()).id
})

const yearOf = (startYear: number) => ({ from: `${startYear}-04-06`, to: `${startYear + 1}-04-05` })
const gift = (amountMinor: number, at: string, fullName = 'Maryam Ahmed') => confirmedGift({ appealId, amountMinor, fullName, at })

/** How many claims there are of gifts from `from` on. */
async function claimsFrom(from: string) {
  const { rows } = await sql<{ count: number }>`select count(*)::int as count from gift_aid_claims where gifts_from = ${from}::date`.execute(db)
  return rows[0]!.count
}

async function claimsOf(donationIds: string[]) {
  return db.selectFrom('gift_aid_claim_gifts').select(['donation_id', 'claim_id', 'amount_minor']).where('donation_id', 'in', donationIds).execute()
}

describe('marking a claim', () => {
  test('records exactly the unclaimed eligible gifts the page showed; the next schedule is empty; the claim keeps its own schedule', async () => {
    const range = yearOf(2019)
    const first = await gift(2_500, '2019-05-01T10:00:00Z', 'Amina Qureshi')
    const second = await gift(4_000, '2019-06-01T10:00:00Z')
    const elsewhere = await gift(1_000, '2020-05-01T10:00:00Z')
    const schedule = await scheduleRows(admin, `?${new URLSearchParams(range)}`)
    expect(scheduleTotalMinor(schedule)).toBe(6_500)

    const answer = await markClaimed(admin, range)
    expect(answer.status).toBe(303)
    const claimId = new URL(answer.headers.get('Location')!, 'http://localhost').searchParams.get('claimed')!
    expect(await claimsOf([first.donationId, second.donationId, elsewhere.donationId])).toEqual(
      expect.arrayContaining([
        { donation_id: first.donationId, claim_id: claimId, amount_minor: 2_500 },
        { donation_id: second.donationId, claim_id: claimId, amount_minor: 4_000 },
      ]),
    )
    expect(await claimsOf([elsewhere.donationId])).toEqual([])

    // Nothing is left to claim in those dates; every eligible gift is still eligible.
    expect(await scheduleRows(admin, `?${new URLSearchParams(range)}`)).toEqual([schedule[0]])
    expect(await scheduleRows(admin, `?${new URLSearchParams({ ...range, gifts: 'all' })}`)).toEqual(schedule)
    expect(await scheduleRows(admin, `?claim=${claimId}`)).toEqual(schedule)
    const { data } = await giftAidPage(admin, range)
    expect(data.overview!.summary).toMatchObject({ eligibleMinor: 6_500, unclaimedMinor: 0, unclaimedCount: 0, claimedMinor: 6_500, claimedCount: 2 })
    expect(data.claimedId).toBeNull()
    expect(data.claims.find((claim) => claim.id === claimId)).toMatchObject({ giftCount: 2, donationsMinor: 6_500, giftAidMinor: 1_625, overClaimedMinor: 0, range })

    // Marking again: nothing to claim, and nothing written.
    const again = await markClaimed(admin, range)
    expect(again.status).toBe(409)
    expect(again.body!.error).toMatch(/no unclaimed gifts/)
    expect(await claimsFrom(range.from)).toBe(1)

    // The audit log names the claim and its totals, never a donor.
    const entry = await db.selectFrom('audit_log').selectAll().where('action', '=', 'gift_aid.claim').where('subject_id', '=', claimId).executeTakeFirstOrThrow()
    expect(entry).toMatchObject({ staff_user_id: adminId, subject_type: 'gift_aid_claim' })
    expect(entry.details).toEqual({ from: range.from, to: range.to, gifts: 2, donationsMinor: 6_500, overClaimedMinor: 0 })
    expect(JSON.stringify(entry.details)).not.toMatch(/Amina|Maryam/)
  })

  test('a gift that arrives after the page was loaded changes the schedule: nothing is marked until it is loaded again', async () => {
    const range = yearOf(2018)
    await gift(1_200, '2018-05-01T10:00:00Z')
    const { data } = await giftAidPage(admin, range)
    const late = await gift(3_400, '2018-05-02T10:00:00Z')
    const stale = await postClaim(admin, { ...range, fingerprint: data.overview!.summary.unclaimedFingerprint, overClaimedMinor: '0', confirm: 'yes' })
    expect(stale.status).toBe(409)
    expect(stale.body!.error).toMatch(/changed since this page was loaded/)
    expect(await claimsOf([late.donationId])).toEqual([])
    expect(await claimsFrom(range.from)).toBe(0)
    expect((await markClaimed(admin, range)).status).toBe(303)
    expect(await claimsOf([late.donationId])).toHaveLength(1)
  })

  test('only administrators mark claims; bad input answers 400 with a message and writes nothing', async () => {
    const range = yearOf(2017)
    await gift(1_500, '2017-05-01T10:00:00Z')
    const { data } = await giftAidPage(admin, range)
    const good = { ...range, fingerprint: data.overview!.summary.unclaimedFingerprint, overClaimedMinor: '0', confirm: 'yes' }

    expect((await postClaim(staff, good)).status).toBe(403)
    for (const [fields, message] of [
      [{ confirm: '' }, /Tick the box/],
      [{ fingerprint: 'nope' }, /Load the Gift Aid page again/],
      [{ overClaimedMinor: 'lots' }, /Load the Gift Aid page again/],
      [{ from: '2017-02-30' }, /does not exist/],
      [{ from: '2018-05-01' }, /start date is after the end date/],
    ] as const) {
      const answer = await postClaim(admin, { ...good, ...fields })
      expect(answer.status, JSON.stringify(fields)).toBe(400)
      expect(answer.body!.error, JSON.stringify(fields)).toMatch(message)
    }
    expect(await claimsFrom(range.from)).toBe(0)

    // The page itself answers bad dates with its form and the reason.
    const bad = await giftAidPage(staff, { from: '2017-13-01', to: '2017-01-01' })
    expect(bad.status).toBe(400)
    expect(bad.data.error).toMatch(/That date does not exist/)
    expect(bad.data.overview).toBeNull()
  })
})

describe('a gift is never in two claims', () => {
  test('the database refuses a claimed gift in a second claim', async () => {
    const range = yearOf(2016)
    const claimed = await gift(2_000, '2016-05-01T10:00:00Z')
    expect((await markClaimed(admin, range)).status).toBe(303)
    const other = await db.insertInto('gift_aid_claims').values({ gifts_from: range.from, gifts_to: range.to, staff_user_id: adminId }).returning('id').executeTakeFirstOrThrow()
    await expect(db.insertInto('gift_aid_claim_gifts').values({ donation_id: claimed.donationId, claim_id: other.id, amount_minor: 2_000 }).execute()).rejects.toThrow(/unique|duplicate/)
    await db.deleteFrom('gift_aid_claims').where('id', '=', other.id).execute()
  })

  test('administrators marking at the same moment, the same dates or overlapping ones: one claim, the others are told it changed', async () => {
    const admins = await Promise.all(Array.from({ length: 6 }, async () => sessionCookieFor((await createStaff('admin')).id)))
    // Rounds of gifts, each in a tax year of its own; one administrator marks only June.
    for (const startYear of [2010, 2011, 2012, 2013, 2015]) {
      const range = yearOf(startYear)
      const june = { from: `${startYear}-06-01`, to: `${startYear}-06-30` }
      const gifts = await Promise.all([1_000, 2_000, 3_000, 4_000].map((amount, index) => gift(amount, `${startYear}-0${5 + index}-01T10:00:00Z`)))
      // Each loads the page first, as a person would, then all post at once.
      const forms = await Promise.all(
        admins.map(async (cookie, index) => {
          const dates = index === 0 ? june : range
          const { data } = await giftAidPage(cookie, dates)
          return { cookie, form: { ...dates, fingerprint: data.overview!.summary.unclaimedFingerprint, overClaimedMinor: '0', confirm: 'yes' } }
        }),
      )
      const answers = await Promise.all(forms.map(({ cookie, form }) => postClaim(cookie, form)))
      expect(answers.map((answer) => answer.status).sort(), String(startYear)).toEqual([303, 409, 409, 409, 409, 409])
      const rows = await claimsOf(gifts.map((entry) => entry.donationId))
      expect(new Set(rows.map((row) => row.claim_id)).size).toBe(1)
      expect(rows.length).toBe(new Set(rows.map((row) => row.donation_id)).size)
      expect((await claimsFrom(range.from)) + (await claimsFrom(june.from))).toBe(1)
      // Whichever won, none of the year's gifts is lost: the rest can still be claimed, once.
      if (rows.length < gifts.length) expect((await markClaimed(admin, range)).status).toBe(303)
      const after = await claimsOf(gifts.map((entry) => entry.donationId))
      expect(after.map((row) => row.donation_id).sort()).toEqual(gifts.map((entry) => entry.donationId).sort())
    }
  })
})

describe('money given back after a claim', () => {
  test('becomes an adjustment in the next claim: the tax over-claimed, once, and the schedule lists only new gifts', async () => {
    const range = yearOf(2014)
    const refunded = await gift(10_000, '2014-05-01T10:00:00Z')
    const disputed = await gift(3_000, '2014-05-02T10:00:00Z')
    expect((await markClaimed(admin, range)).status).toBe(303)

    // After the claim: a partial refund, and a dispute lost.
    await deliverAll([refund(refunded, 3_001)])
    await deliverAll(disputeEvents(disputed, 3_000, 'lost'))
    let page = (await giftAidPage(admin, range)).data
    expect(page.overview!.adjustment).toMatchObject({ overClaimedMinor: 6_001, taxMinor: 1_501 })
    expect(page.overview!.adjustment.gifts.map((row) => [row.donationId, row.claimedMinor, row.nowMinor, row.overClaimedMinor])).toEqual([
      [refunded.donationId, 10_000, 6_999, 3_001],
      [disputed.donationId, 3_000, 0, 3_000],
    ])
    // The figures are what the gifts are worth now; the schedule of the next claim has no negative rows.
    expect(page.overview!.summary).toMatchObject({ eligibleMinor: 6_999, unclaimedMinor: 0, claimedMinor: 13_000 })
    expect(await scheduleRows(admin, `?${new URLSearchParams(range)}`)).toHaveLength(1)

    // The next claim carries the adjustment with its new gift.
    const next = await gift(2_000, '2014-06-01T10:00:00Z')
    const answer = await markClaimed(admin, range)
    expect(answer.status).toBe(303)
    const claimId = new URL(answer.headers.get('Location')!, 'http://localhost').searchParams.get('claimed')!
    expect(await claimsOf([next.donationId])).toEqual([{ donation_id: next.donationId, claim_id: claimId, amount_minor: 2_000 }])
    const adjustments = await db.selectFrom('gift_aid_claim_adjustments').select(['donation_id', 'amount_minor']).where('claim_id', '=', claimId).orderBy('amount_minor', 'desc').execute()
    expect(adjustments).toEqual([
      { donation_id: refunded.donationId, amount_minor: 3_001 },
      { donation_id: disputed.donationId, amount_minor: 3_000 },
    ])
    page = (await giftAidPage(admin, range)).data
    expect(page.claims.find((claim) => claim.id === claimId)).toMatchObject({ giftCount: 1, donationsMinor: 2_000, giftAidMinor: 500, overClaimedMinor: 6_001, adjustmentTaxMinor: 1_501 })
    expect(page.overview!.adjustment).toMatchObject({ overClaimedMinor: 0, taxMinor: 0, gifts: [] })

    // A further refund of the same gift is adjusted for only what is new.
    await deliverAll([refund(refunded, 10_000)])
    page = (await giftAidPage(admin, range)).data
    expect(page.overview!.adjustment).toMatchObject({ overClaimedMinor: 6_999, taxMinor: 1_750 })

    // The page's adjustment is part of what is marked: one changed since the page was loaded refuses the claim.
    await gift(500, '2014-07-01T10:00:00Z')
    const { data } = await giftAidPage(admin, range)
    await deliverAll([refund(next, 1_000)])
    const stale = await postClaim(admin, { ...range, fingerprint: data.overview!.summary.unclaimedFingerprint, overClaimedMinor: String(data.overview!.adjustment.overClaimedMinor), confirm: 'yes' })
    expect(stale.status).toBe(409)
    expect((await markClaimed(admin, range)).status).toBe(303)
    expect((await giftAidPage(admin, range)).data.overview!.adjustment.overClaimedMinor).toBe(0)
  })
})
