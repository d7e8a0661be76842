import { sql } from 'kysely'
import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { csvCell, csvRow } from '#app/utils/csv.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { action as donationAction, loader as donationLoader } from '#app/routes/staff.donations.$id.tsx'
import { action as listAction, loader as listLoader } from '#app/routes/staff.donations._index.tsx'
import { loader as exportLoader } from '#app/routes/staff.donations.export[.]csv.ts'
import { clearStripeCalls, completedSession, refundedCharge, stripeCalls, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, createPendingDonation, deliver, outboxFor, useTestStripe } from './donation-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { DONATIONS_CSV_HEADER } from '#app/modules/donations/donations-csv.server.ts'
import { readCsv } from './csv-fixtures.ts'

const db = getDb()
const args = (request: Request, params: Record<string, string> = {}) => ({ request, params, context: {} })

let cookie: string
let staffId: string

beforeAll(async () => {
  useTestStripe()
  const staff = await createStaff('staff')
  staffId = staff.id
  cookie = await sessionCookieFor(staff.id)
})

afterEach(() => {
  useTestStripe()
})

type ListData = Awaited<ReturnType<typeof listLoader>>
type DetailData = Awaited<ReturnType<typeof donationLoader>>

async function list(query: string) {
  const answer = await settle(() => listLoader(args(getRequest(`/staff/donations${query}`, { cookie }))))
  return { status: answer.status, body: answer.body as Extract<ListData, { donations: unknown }> }
}

/** The filter form, POSTed as the browser sends it (every field, empty ones too); then the page it redirects to. */
async function search(fields: Record<string, string>) {
  const form = { appeal: '', status: '', frequency: '', from: '', to: '', q: '', ...fields }
  const posted = await settle(() => listAction(args(postRequest('/staff/donations?index', form, { cookie }))))
  expect(posted.status).toBe(303)
  const location = posted.headers.get('Location')!
  expect(location.startsWith('/staff/donations')).toBe(true)
  return { location, ...(await list(location.slice('/staff/donations'.length))) }
}

async function confirmed(options: { appealId: string; amountMinor: number; email?: string; currency?: string; frequency?: 'one_off' | 'monthly' }) {
  const donation = await createPendingDonation(options)
  const paymentIntent = `pi_${donation.donationId.replaceAll('-', '').slice(0, 16)}`
  expect(
    await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: donation.donationId, amountMinor: options.amountMinor, currency: options.currency, paymentIntent }))),
  ).toBe(200)
  return { ...donation, paymentIntent }
}

function post(donationId: string, fields: Record<string, string>, headers?: Record<string, string>) {
  return settle(() => donationAction(args(postRequest(`/staff/donations/${donationId}`, fields, { cookie, headers }), { id: donationId })))
}

async function donationRow(id: string) {
  return db.selectFrom('donations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

describe('the list', () => {
  test('filters by appeal, status, frequency and dates, and searches name or email without regard to case', async () => {
    const appeal = await createAppeal()
    const other = await createAppeal()
    const amina = await confirmed({ appealId: appeal.id, amountMinor: 2_500, email: 'Amina.Q@Example.org' })
    await db.updateTable('donations').set({ donor_name: 'Amina Qureshi' }).where('id', '=', amina.donationId).execute()
    const pending = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    const monthly = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_500, frequency: 'monthly' })
    const elsewhere = await createPendingDonation({ appealId: other.id, amountMinor: 3_000 })
    await sql`update donations set created_at = '2020-01-15T12:00:00Z' where id = ${pending.donationId}`.execute(db)

    const ids = (body: { donations: { id: string }[] }) => body.donations.map((donation) => donation.id).sort()

    expect(ids((await list(`?appeal=${appeal.id}&status=all`)).body)).toEqual([amina.donationId, pending.donationId, monthly.donationId].sort())
    expect(ids((await list(`?appeal=${other.id}&status=all`)).body)).toEqual([elsewhere.donationId])
    expect(ids((await list(`?appeal=${appeal.id}&status=confirmed`)).body)).toEqual([amina.donationId])
    expect(ids((await list(`?appeal=${appeal.id}&status=all&frequency=monthly`)).body)).toEqual([monthly.donationId])
    expect(ids((await list(`?appeal=${appeal.id}&status=all&from=2020-01-15&to=2020-01-15`)).body)).toEqual([pending.donationId])
    expect(ids((await list(`?appeal=${appeal.id}&status=all&from=2020-01-16`)).body)).toEqual([amina.donationId, monthly.donationId].sort())
    // Searches by name or email are POSTed and come back sealed in `s` (docs/decisions/022).
    expect(ids((await search({ q: 'amina QUR' })).body)).toEqual([amina.donationId])
    expect(ids((await search({ q: 'amina.q@example' })).body)).toEqual([amina.donationId])
    // LIKE's wildcards are searched for, not obeyed.
    expect((await search({ q: '%' })).body.donations).toEqual([])

    const first = (await list(`?appeal=${appeal.id}&status=confirmed`)).body.donations[0]!
    expect(first).toMatchObject({ amountMinor: 2_500, currency: 'GBP', donorName: 'Amina Qureshi', status: 'confirmed' })
    // An empty field from the GET form means "any", except the status: empty means gifts only.
    expect((await list(`?appeal=${appeal.id}&status=all&from=`)).body.donations).toHaveLength(3)
  })

  test('a search by name or email is in no address: not the list, its pages, the CSV link nor the audit log', async () => {
    const appeal = await createAppeal()
    const found = await confirmed({ appealId: appeal.id, amountMinor: 2_000, email: 'hidden.donor@example.org' })
    await db.updateTable('donations').set({ donor_name: 'Hidden Donor' }).where('id', '=', found.donationId).execute()
    await confirmed({ appealId: appeal.id, amountMinor: 3_000, email: 'someone.else@example.org' })

    for (const q of ['hidden.donor@example.org', 'Hidden Donor']) {
      const result = await search({ appeal: appeal.id, q })
      expect(result.status).toBe(200)
      expect(result.body.donations.map((donation) => donation.id)).toEqual([found.donationId])
      const addresses = [result.location, result.body.exportHref, result.body.newestHref, result.body.olderHref].filter((href): href is string => !!href)
      for (const address of addresses) {
        const decoded = decodeURIComponent(address.replaceAll('+', ' ')).toLowerCase()
        expect(decoded).not.toContain('hidden')
        expect(decoded).not.toContain('@')
        expect(new URL(address, 'http://x').searchParams.has('q')).toBe(false)
      }
      // The CSV behind the link holds the same search's rows.
      const csv = (await exportLoader(args(getRequest(result.body.exportHref!, { cookie })))) as Response
      expect(csv.status).toBe(200)
      const rows = await readCsv(csv)
      expect(rows.slice(1).map((row) => row[1])).toEqual([found.donationId])
    }
    const audit = await db.selectFrom('audit_log').select('details').where('action', '=', 'donations.export').execute()
    expect(JSON.stringify(audit.map((row) => row.details)).toLowerCase()).not.toMatch(/hidden|@/)
    expect(audit.at(-1)?.details).toMatchObject({ filters: { appeal: appeal.id }, searchedByNameOrEmail: true })

    // A name or email in the address itself is refused, not searched; a token for another staff
    // member, or tampered with, opens nothing.
    const bare = await list('?q=hidden.donor%40example.org')
    expect(bare.status).toBe(400)
    expect(bare.body.donations).toEqual([])
    const sealed = new URL((await search({ q: 'Hidden Donor' })).location, 'http://x').searchParams.get('s')!
    const other = await sessionCookieFor((await createStaff('staff')).id)
    const stranger = await settle(() => listLoader(args(getRequest(`/staff/donations?s=${sealed}`, { cookie: other }))))
    expect(stranger.status).toBe(400)
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`
    expect((await list(`?s=${tampered}`)).status).toBe(400)
  })

  test('bad filters answer 400 with a message', async () => {
    for (const query of ['?status=lost', '?from=2024-02-30', '?from=2024-03-01&to=2024-02-01', '?appeal=nope', '?before=garbage']) {
      const answer = await list(query)
      expect(answer.status, query).toBe(400)
      expect(answer.body.error, query).toBeTruthy()
    }
  })

  test('keyset pagination returns every row exactly once, newest first, ties broken by id', async () => {
    const appeal = await createAppeal()
    const { supporterId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 100 })
    // 123 more rows; every three share a timestamp, so the id must break ties.
    await sql`
      insert into donations (appeal_id, supporter_id, frequency, amount_minor, currency, donor_name, donor_email, created_at)
      select ${appeal.id}, ${supporterId}, 'one_off', 100 + g, 'GBP', 'Page donor ' || g, 'page' || g || '@example.org',
             timestamptz '2022-06-01 12:00:00.123456+00' - (g / 3) * interval '1 microsecond'
      from generate_series(1, 123) g`.execute(db)
    const expected = await db
      .selectFrom('donations')
      .select('id')
      .where('appeal_id', '=', appeal.id)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute()
    expect(expected).toHaveLength(124)

    const seen: string[] = []
    let path: string | null = `?appeal=${appeal.id}&status=all`
    let pages = 0
    while (path !== null) {
      const { status, body } = await list(path)
      expect(status).toBe(200)
      expect(body.donations.length).toBeLessThanOrEqual(50)
      seen.push(...body.donations.map((donation) => donation.id))
      pages += 1
      path = body.olderHref ? body.olderHref.replace('/staff/donations', '') : null
      if (path) expect(path).toContain(`appeal=${appeal.id}`)
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(expected.map((row) => row.id))
    expect(new Set(seen).size).toBe(124)
  })
})

describe('one donation', () => {
  test('shows its Stripe ids, amounts, history oldest first and ledger', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 4_000 })
    const answer = await settle(() => donationLoader(args(getRequest(`/staff/donations/${donation.donationId}`, { cookie }), { id: donation.donationId })))
    expect(answer.status).toBe(200)
    const body = answer.body as DetailData
    expect(body.donation).toMatchObject({ status: 'confirmed', chargedMinor: 4_000, netMinor: 4_000, refundableMinor: 4_000 })
    expect(body.donation.stripe.paymentIntent).toBe(donation.paymentIntent)
    expect(body.events.map((event) => event.type)).toEqual(['confirmed'])
    expect(body.ledger).toEqual([expect.objectContaining({ kind: 'charge', amountMinor: 4_000 })])
    expect(body.offlineCheckout).toBe(false)

    const missing = await settle(() => donationLoader(args(getRequest('/staff/donations/x', { cookie }), { id: 'not-a-uuid' })))
    expect(missing.status).toBe(404)
  })

  test('a refund goes to Stripe with its idempotency key; totals move only when the signed charge.refunded arrives', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 5_000 })
    clearStripeCalls()

    const partial = await post(donation.donationId, { intent: 'refund', kind: 'partial', amount: '10.00' })
    expect(partial.status).toBe(200)
    expect(partial.body).toMatchObject({ ok: true })
    expect(stripeCalls).toHaveLength(1)
    expect(stripeCalls[0]).toMatchObject({ path: '/v1/refunds', idempotencyKey: `refund:${donation.donationId}:1000:0` })
    expect(stripeCalls[0]!.form.get('payment_intent')).toBe(donation.paymentIntent)
    expect(stripeCalls[0]!.form.get('amount')).toBe('1000')

    expect((await donationRow(donation.donationId)).refunded_minor).toBe(0)
    expect((await appealTotals(appeal.id)).refunded_minor).toBe(0)
    const events = await db.selectFrom('donation_events').select(['type', 'detail']).where('donation_id', '=', donation.donationId).orderBy('id').execute()
    expect(events.map((event) => event.type)).toEqual(['confirmed', 'refund_requested'])
    const audit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'donation.refund').where('subject_id', '=', donation.donationId).execute()
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ staff_user_id: staffId, subject_type: 'donation', details: expect.objectContaining({ amountMinor: 1_000 }) })

    expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: donation.paymentIntent, amountMinor: 5_000, amountRefundedMinor: 1_000 })))).toBe(200)
    expect((await donationRow(donation.donationId)).refunded_minor).toBe(1_000)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 5_000, refunded_minor: 1_000 })

    // The rest, in full: a new key, because the refunds so far have changed.
    clearStripeCalls()
    expect((await post(donation.donationId, { intent: 'refund', kind: 'full' })).status).toBe(200)
    expect(stripeCalls[0]).toMatchObject({ idempotencyKey: `refund:${donation.donationId}:4000:1000` })
    expect(stripeCalls[0]!.form.get('amount')).toBe('4000')
  })

  test('a partial KWD refund Stripe cannot make (not ending in 0) is refused with 400 and never reaches Stripe', async () => {
    const appeal = await createAppeal({ currency: 'KWD' })
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 10_000, currency: 'KWD' })
    clearStripeCalls()
    const answer = await post(donation.donationId, { intent: 'refund', kind: 'partial', amount: '2.505' })
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ ok: false, message: expect.stringMatching(/Amounts in KWD must end in 0/) })
    expect(stripeCalls).toHaveLength(0)
  })

  test('a partial refund above what is left, or bad input, is refused with 400 and never reaches Stripe', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 2_000 })
    await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: donation.paymentIntent, amountMinor: 2_000, amountRefundedMinor: 500 })))
    clearStripeCalls()
    const tooMuch = await post(donation.donationId, { intent: 'refund', kind: 'partial', amount: '15.01' })
    expect(tooMuch.status).toBe(400)
    expect(tooMuch.body).toMatchObject({ ok: false, message: expect.stringContaining('15.00') })
    const badForms: Record<string, string>[] = [
      { intent: 'refund', kind: 'partial', amount: '' },
      { intent: 'refund', kind: 'partial', amount: '1.234' },
      { intent: 'refund', kind: 'partial', amount: '-1' },
      { intent: 'refund', kind: 'sideways' },
      { intent: 'steal' },
    ]
    for (const fields of badForms) {
      const answer = await post(donation.donationId, fields)
      expect(answer.status, JSON.stringify(fields)).toBe(400)
      expect((answer.body as { message: string }).message).toBeTruthy()
    }
    expect(stripeCalls).toHaveLength(0)
  })

  // Issue 13 changed this: offline (the demo) a refund is made without Stripe, and reported by the
  // offline checkout as Stripe would (tests/integration/offline-checkout.test.ts follows it through).
  test('offline (no Stripe key), a refund asks no one and the page says it is the demo', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 2_000 })
    delete process.env.STRIPE_SECRET_KEY
    resetEnvForTests()
    clearStripeCalls()
    const page = await settle(() => donationLoader(args(getRequest(`/staff/donations/${donation.donationId}`, { cookie }), { id: donation.donationId })))
    expect((page.body as DetailData).offlineCheckout).toBe(true)
    const answer = await post(donation.donationId, { intent: 'refund', kind: 'full' })
    expect(answer.status).toBe(200)
    expect((answer.body as { message: string }).message).toMatch(/made in the demo/)
    expect(stripeCalls).toHaveLength(0)
  })

  test('sending the receipt again queues a second email with a new key, and is audited', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 1_200 })
    expect(await outboxFor(donation.email)).toHaveLength(1)
    const answer = await post(donation.donationId, { intent: 'resend-receipt' })
    expect(answer.status).toBe(200)
    const emails = await outboxFor(donation.email)
    expect(emails.map((email) => email.idempotency_key).sort()).toEqual([
      `donation-receipt/${donation.donationId}`,
      expect.stringMatching(new RegExp(`^donation-receipt/${donation.donationId}/resend-\\d+$`)),
    ])
    const audit = await db.selectFrom('audit_log').select('staff_user_id').where('action', '=', 'donation.resend_receipt').where('subject_id', '=', donation.donationId).execute()
    expect(audit).toEqual([{ staff_user_id: staffId }])

    const pending = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    expect((await post(pending.donationId, { intent: 'resend-receipt' })).status).toBe(400)
  })

  test('a second payment the donor meant is kept: it leaves the attention list, stays a gift, and the page says so', async () => {
    const { listSecondPayments } = await import('#app/modules/donations/staff-donations.server.ts')
    const appeal = await createAppeal()
    const { donationId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 2_500 })
    expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId, amountMinor: 2_500, paymentIntent: 'pi_kept_first' })))).toBe(200)
    const again = { ...completedSession({ donationId, amountMinor: 2_500, paymentIntent: 'pi_kept_second' }), id: 'cs_kept_second' }
    expect(await deliver(stripeEvent('checkout.session.completed', again))).toBe(200)
    const second = await db.selectFrom('donations').select('id').where('second_payment_of', '=', donationId).executeTakeFirstOrThrow()
    expect((await listSecondPayments(db)).map((row) => row.id)).toContain(second.id)

    // A gift paid once has nothing to keep.
    expect((await post(donationId, { intent: 'keep-second-payment' })).status).toBe(400)
    const answer = await post(second.id, { intent: 'keep-second-payment' })
    expect(answer.status).toBe(200)
    expect((await listSecondPayments(db)).map((row) => row.id)).not.toContain(second.id)
    expect(await appealTotals(appeal.id)).toMatchObject({ confirmed_gross_minor: 5_000, refunded_minor: 0 })
    const page = await settle(() => donationLoader(args(getRequest(`/staff/donations/${second.id}`, { cookie }), { id: second.id })))
    expect((page.body as DetailData).donation.secondPaymentKeptAt).not.toBeNull()
    const audit = await db.selectFrom('audit_log').select('staff_user_id').where('action', '=', 'donation.keep_second_payment').where('subject_id', '=', second.id).execute()
    expect(audit).toEqual([{ staff_user_id: staffId }])
    // Asking twice changes nothing more.
    expect((await post(second.id, { intent: 'keep-second-payment' })).status).toBe(200)
    expect(await db.selectFrom('audit_log').select('id').where('action', '=', 'donation.keep_second_payment').where('subject_id', '=', second.id).execute()).toHaveLength(1)
  })

  test('a cross-site POST is refused with 403 before anything happens', async () => {
    const appeal = await createAppeal()
    const donation = await confirmed({ appealId: appeal.id, amountMinor: 1_000 })
    clearStripeCalls()
    const crossSite: Record<string, string>[] = [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }]
    for (const headers of crossSite) {
      const answer = await post(donation.donationId, { intent: 'refund', kind: 'full' }, headers)
      expect(answer.status).toBe(403)
    }
    expect(stripeCalls).toHaveLength(0)
    expect(await outboxFor(donation.email)).toHaveLength(1)
  })
})

describe('CSV', () => {
  test('cells are quoted as RFC 4180 says and formulas are defused', () => {
    expect(csvCell('plain')).toBe('plain')
    expect(csvCell('Smith, "Jo"')).toBe('"Smith, ""Jo"""')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
    expect(csvCell('=1+1')).toBe("'=1+1")
    expect(csvCell('+44 20')).toBe("'+44 20")
    expect(csvCell('-2')).toBe("'-2")
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"')
    expect(csvCell(null)).toBe('')
    expect(csvCell(12)).toBe('12')
    expect(csvRow(['a', 'b,c'])).toBe('a,"b,c"\r\n')
  })

  test('the donations export follows the filters, quotes names, defuses formulas, and is an audited download', async () => {
    const appeal = await createAppeal()
    const evil = await confirmed({ appealId: appeal.id, amountMinor: 2_550, email: 'evil@example.org' })
    await db.updateTable('donations').set({ donor_name: '=HYPERLINK("http://evil.example","click")', fee_cover_minor: 58 }).where('id', '=', evil.donationId).execute()
    const quoted = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000, frequency: 'monthly' })
    await db.updateTable('donations').set({ donor_name: 'Smith, "Jo"\nJunior' }).where('id', '=', quoted.donationId).execute()
    await createPendingDonation({ appealId: (await createAppeal()).id, amountMinor: 999 })

    const response = (await exportLoader(args(getRequest(`/staff/donations/export.csv?appeal=${appeal.id}&status=all`, { cookie })))) as Response
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toMatch(/^text\/csv/)
    expect(response.headers.get('Content-Disposition')).toMatch(/^attachment; filename="donations-\d{4}-\d{2}-\d{2}\.csv"$/)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const rows = await readCsv(response)
    expect(rows[0]).toEqual([...DONATIONS_CSV_HEADER])
    expect(DONATIONS_CSV_HEADER).toEqual(['Date', 'Donation ID', 'Appeal', 'Donor name', 'Donor email', 'Amount', 'Fee covered', 'Refunded', 'Currency', 'Status', 'Frequency', 'Gift Aid'])
    expect(rows).toHaveLength(3)
    const byId = new Map(rows.slice(1).map((row) => [row[1], row]))
    expect(byId.get(evil.donationId)).toEqual([
      expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      evil.donationId,
      'Test appeal',
      '\'=HYPERLINK("http://evil.example","click")',
      'evil@example.org',
      '25.50',
      '0.58',
      '0.00',
      'GBP',
      'Confirmed',
      'One-off',
      'No',
    ])
    expect(byId.get(quoted.donationId)?.slice(3, 4)).toEqual(['Smith, "Jo"\nJunior'])
    expect(byId.get(quoted.donationId)?.[10]).toBe('Monthly')

    const audit = await db.selectFrom('audit_log').select(['staff_user_id', 'details']).where('action', '=', 'donations.export').execute()
    expect(audit.at(-1)).toMatchObject({ staff_user_id: staffId, details: { filters: { appeal: appeal.id, status: 'all' } } })
  })

  // About 20 s on PGlite alone (most of it the hundred page queries), a few seconds on PostgreSQL.
  test('exports 100,000 rows in bounded memory, a page at a time', { timeout: 120_000 }, async () => {
    const appeal = await createAppeal()
    const { supporterId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 100 })
    await db.deleteFrom('donations').where('appeal_id', '=', appeal.id).execute()
    const total = 100_000
    await sql`
      insert into donations (appeal_id, supporter_id, frequency, amount_minor, fee_cover_minor, currency, status, donor_name, donor_email, created_at)
      select ${appeal.id}, ${supporterId}, 'one_off', 1000 + g, g % 100, 'GBP', 'confirmed',
             'Bulk donor number ' || g, 'bulk-' || g || '@example.org',
             timestamptz '2021-01-01 00:00:00+00' + (g / 3) * interval '1 second'
      from generate_series(1, ${total}) g`.execute(db)

    const response = (await exportLoader(args(getRequest(`/staff/donations/export.csv?appeal=${appeal.id}`, { cookie })))) as Response
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    // Live heap only: collect first (vitest runs with --expose-gc), so garbage is not counted.
    const liveHeap = () => {
      ;(globalThis as { gc?: () => void }).gc?.()
      return process.memoryUsage().heapUsed
    }
    const before = liveHeap()
    let peak = before
    let lines = 0
    let chunks = 0
    let tail = ''
    const ids = new Set<string>()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks += 1
      const text = tail + decoder.decode(value, { stream: true })
      const parts = text.split('\r\n')
      tail = parts.pop()!
      for (const line of parts) {
        lines += 1
        // The id is the second column; bulk names hold no commas, so a split is enough here.
        if (lines > 1) ids.add(line.split(',')[1]!)
      }
      if (chunks % 10 === 0) peak = Math.max(peak, liveHeap())
    }
    expect(tail).toBe('')
    expect(lines).toBe(total + 1)
    expect(ids.size).toBe(total)
    // A header chunk, then a chunk per page of a thousand.
    expect(chunks).toBe(1 + total / 1_000)
    // The test's own set of 100,000 ids is part of this; all rows at once would be several times more.
    expect(peak - before).toBeLessThan(40 * 1024 * 1024)
  })
})
