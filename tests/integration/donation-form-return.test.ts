import { sql } from 'kysely'
import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { action, headers, loader } from '#app/routes/appeals.$slug.tsx'
import { checkoutCookieHeader, readCheckoutSubmissionId } from '#app/utils/checkout-cookie.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { PRODUCTION_SETTINGS } from '#tests/setup/production-settings.ts'
import { clearStripeCalls, stripeCalls } from '#tests/mocks/stripe.ts'
import { useTestStripe } from './donation-fixtures.ts'

/**
 * Issue 13: back from the payment page, the donation form is filled in again, in the browser that
 * typed it only (a signed, HttpOnly, short-lived cookie naming the pending donation), and the page
 * is then private and never stored; a typed amount wins over a ticked one; Gift Aid takes one tick
 * and the donor's name; a gift over the ceiling is refused with whom to ask.
 */

const db = getDb()
const ORIGIN = 'https://appeals.example.org'
const SLUG = 'walk-again-yusuf'
const saved = { ...process.env }

beforeAll(async () => {
  // Absolute addresses come from APP_URL (docs/decisions/022): this site's, as the requests are.
  saved.APP_URL = ORIGIN
  process.env.APP_URL = ORIGIN
  await seedDemoData(db)
  useTestStripe()
})
afterEach(() => {
  process.env = { ...saved, STRIPE_SECRET_KEY: 'sk_test_sanad', STRIPE_WEBHOOK_SECRET: process.env.STRIPE_WEBHOOK_SECRET }
  resetEnvForTests()
  clearStripeCalls()
})

let clientIp = 0
function post(fields: Record<string, string>, slug = SLUG) {
  const form = new FormData()
  const values = {
    submissionId: crypto.randomUUID(),
    frequency: 'one_off',
    amount: '2500',
    customAmount: '',
    name: 'Maryam Test',
    email: `maryam-${crypto.randomUUID().slice(0, 6)}@example.org`,
    message: '',
    website: '',
    ...fields,
  }
  for (const [name, value] of Object.entries(values)) form.set(name, value)
  clientIp += 1
  return {
    values,
    result: action({
      request: new Request(`${ORIGIN}/appeals/${slug}`, {
        method: 'POST',
        body: form,
        headers: { 'X-Forwarded-For': `198.18.0.${clientIp}` },
      }),
      params: { slug },
      context: {},
    }),
  }
}

function load(cookie?: string, search = '', slug = SLUG) {
  return loader({
    request: new Request(`${ORIGIN}/appeals/${slug}${search}`, { headers: cookie ? { Cookie: cookie } : {} }),
    params: { slug },
    context: {},
  })
}

/** A redirect's Set-Cookie, as the browser would send it back: name=value. */
function cookieOf(response: Response) {
  const header = response.headers.get('Set-Cookie')
  expect(header, 'the redirect to the payment page sets the checkout cookie').toBeTruthy()
  return { header: header!, pair: header!.split(';')[0]! }
}

async function redirected(fields: Record<string, string>) {
  const { values, result } = post(fields)
  const response = await result
  expect(response).toBeInstanceOf(Response)
  expect((response as Response).status).toBe(303)
  return { values, response: response as Response }
}

const lastSessionForm = () => Object.fromEntries(stripeCalls.filter((call) => call.path === '/v1/checkout/sessions').at(-1)!.form)

describe('back from the payment page', () => {
  test('the redirect sets a short-lived, HttpOnly, signed cookie that holds no personal data', async () => {
    const { values, response } = await redirected({ amount: 'other', customAmount: '12.34', message: 'Stay strong' })
    const { header, pair } = cookieOf(response)
    expect(header).toMatch(/^sanad_checkout=/)
    expect(header).toMatch(/; Max-Age=3600/)
    expect(header).toMatch(/; HttpOnly/)
    expect(header).toMatch(/; SameSite=Lax/)
    expect(header).toMatch(/; Path=\//)
    for (const personal of [values.name, values.email, 'Stay strong', '12.34']) expect(decodeURIComponent(header)).not.toContain(personal)
    expect(await readCheckoutSubmissionId(new Request(ORIGIN, { headers: { Cookie: pair } }))).toBe(values.submissionId)
    // Stripe is sent back to the form's notice, and nothing personal is in that address.
    expect(lastSessionForm().cancel_url).toBe(`${ORIGIN}/appeals/${SLUG}?checkout=cancelled#checkout-return`)
  })

  test('the browser holding the cookie gets its form back, privately; another browser gets an empty form', async () => {
    const { values, response } = await redirected({
      frequency: 'monthly',
      amount: 'other',
      customAmount: '12.34',
      coverFee: 'on',
      message: 'Stay strong',
      showName: 'on',
      showMessage: 'on',
      updatesOptIn: 'on',
      giftAid: 'on',
      houseNameOrNumber: '12',
      address: 'High Street, Leeds',
      postcode: 'ls1 4ap',
    })
    const { pair } = cookieOf(response)

    const mine = await load(pair, '?checkout=cancelled')
    expect(mine.data.restored).toEqual({
      frequency: 'monthly',
      amount: 'other',
      customAmount: '12.34',
      coverFee: 'on',
      name: 'Maryam Test',
      email: values.email,
      message: 'Stay strong',
      showName: 'on',
      showMessage: 'on',
      updatesOptIn: 'on',
      giftAid: 'on',
      houseNameOrNumber: '12',
      address: 'High Street, Leeds',
      postcode: 'LS1 4AP',
    })
    expect(mine.data.checkoutCancelled).toBe(true)
    // A new page view: a changed gift is a new donation, not the pending one with the old amount.
    expect(mine.data.submissionId).not.toBe(values.submissionId)
    expect(new Headers(mine.init?.headers).get('Cache-Control')).toBe('private, no-store')
    // The route's headers pass that on to the document.
    const documentHeaders = new Headers(
      headers({
        loaderHeaders: new Headers(mine.init?.headers),
        actionHeaders: new Headers(),
        parentHeaders: new Headers(),
        errorHeaders: undefined,
      }),
    )
    expect(documentHeaders.get('Cache-Control')).toBe('private, no-store')

    const someoneElse = await load(undefined, '?checkout=cancelled')
    expect(someoneElse.data.restored).toBeNull()
    expect(someoneElse.data.checkoutCancelled).toBe(true)
  })

  test('a suggested amount comes back ticked, and the box stays empty', async () => {
    const { response } = await redirected({ amount: '2500' })
    const { data } = await load(cookieOf(response).pair)
    expect(data.restored).toMatchObject({ amount: '2500', frequency: 'one_off' })
    expect(data.restored).not.toHaveProperty('customAmount')
    expect(data.restored).not.toHaveProperty('giftAid')
  })

  test('nothing comes back from a forged cookie, another appeal, a paid gift or an old checkout', async () => {
    const { values, response } = await redirected({})
    const { pair } = cookieOf(response)

    // The same submission id, unsigned or signed with another key.
    expect((await load(`sanad_checkout=${encodeURIComponent(btoa(JSON.stringify(values.submissionId)))}`)).data.restored).toBeNull()
    expect((await load(`${pair.slice(0, -4)}abcd`)).data.restored).toBeNull()
    // The same cookie on another appeal's page.
    expect((await load(pair, '', 'medical-care-karim')).data.restored).toBeNull()

    await sql`update donations set created_at = now() - interval '61 minutes' where checkout_submission_id = ${values.submissionId}`.execute(db)
    expect((await load(pair)).data.restored).toBeNull()
    await sql`update donations set created_at = now(), status = 'confirmed', confirmed_at = now() where checkout_submission_id = ${values.submissionId}`.execute(db)
    expect((await load(pair)).data.restored).toBeNull()
  })

  test('in production the cookie is __Host-: Secure, Path=/, no Domain; the plain name is not read', async () => {
    process.env = { ...saved, ...PRODUCTION_SETTINGS }
    resetEnvForTests()
    const submissionId = crypto.randomUUID()
    const header = await checkoutCookieHeader(submissionId)
    expect(header).toMatch(/^__Host-sanad_checkout=/)
    expect(header).toMatch(/; Secure/)
    expect(header).not.toMatch(/Domain=/i)
    const pair = header.split(';')[0]!
    expect(await readCheckoutSubmissionId(new Request(ORIGIN, { headers: { Cookie: pair } }))).toBe(submissionId)
    expect(await readCheckoutSubmissionId(new Request(ORIGIN, { headers: { Cookie: pair.replace(/^__Host-/, '') } }))).toBeNull()
  })
})

describe('the donation action', () => {
  test('without JavaScript, £50 ticked and 7 typed is a gift of £7, not £50', async () => {
    await redirected({ amount: '5000', customAmount: '7', coverFee: 'on' })
    // £7 plus the fee cover on £7 (1.5% + 20p): 7.31 rounded up.
    expect(lastSessionForm()['line_items[0][price_data][unit_amount]']).toBe('731')
    const donation = await db.selectFrom('donations').select(['amount_minor', 'fee_cover_minor']).orderBy('created_at', 'desc').executeTakeFirstOrThrow()
    expect(donation).toEqual({ amount_minor: 700, fee_cover_minor: 31 })
  })

  test('"£1,000.50" typed is £1,000.50', async () => {
    await redirected({ amount: 'other', customAmount: '£1,000.50' })
    expect(lastSessionForm()['line_items[0][price_data][unit_amount]']).toBe('100050')
  })

  test('a gift over the ceiling is a 400 saying to contact the organisation, and nothing is written', async () => {
    const before = await db.selectFrom('donations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    const { result } = post({ amount: 'other', customAmount: '99,999,999,999' })
    const reply = (await result) as unknown as { data: { error?: Record<string, string[]> }; init: ResponseInit }
    expect(reply.init.status).toBe(400)
    expect(reply.data.error?.customAmount).toEqual(['The largest gift we can take online is £25,000. For a larger gift, please contact us'])
    const after = await db.selectFrom('donations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    expect(Number(after.n)).toBe(Number(before.n))
  })

  test('the ceiling follows DONATION_MAX_GBP', async () => {
    process.env.DONATION_MAX_GBP = '10000'
    resetEnvForTests()
    const { result } = post({ amount: 'other', customAmount: '10,000.01' })
    const reply = (await result) as unknown as { data: { error?: Record<string, string[]> }; init: ResponseInit }
    expect(reply.init.status).toBe(400)
    expect(reply.data.error?.customAmount?.[0]).toMatch(/£10,000\./)
    expect((await load()).data.maxGbp).toBe(10_000)
  })

  test('Gift Aid with one tick declares in the name given once', async () => {
    await redirected({ name: 'Amina Yusuf', giftAid: 'on', houseNameOrNumber: '3', address: 'Mill Road, Leeds', postcode: 'ls1 4ap' })
    const declaration = await db
      .selectFrom('donations as d')
      .innerJoin('gift_aid_declarations as g', 'g.id', 'd.gift_aid_declaration_id')
      .select(['g.full_name', 'g.postcode'])
      .orderBy('d.created_at', 'desc')
      .executeTakeFirstOrThrow()
    expect(declaration).toEqual({ full_name: 'Amina Yusuf', postcode: 'LS1 4AP' })
  })

  test('the fee the form shows comes from the settings checkout charges by', async () => {
    process.env.PROCESSING_FEE_PERCENT = '1.4'
    process.env.PROCESSING_FEE_FIXED_MINOR = '25'
    resetEnvForTests()
    expect((await load()).data.feeFormula).toEqual({ percent: 1.4, fixedMinor: 25 })
  })
})
