import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import type * as checkout from '#app/modules/donations/checkout.server.ts'
import { startCheckout } from '#app/modules/donations/checkout.server.ts'
import { action, loader } from '#app/routes/appeals.$slug.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'
import { demoGifts, seedDemoData } from '#scripts/seed/demo-data.ts'

// The real checkout runs unless a test says otherwise; the spy shows whether the action got that far.
vi.mock('#app/modules/donations/checkout.server.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof checkout>()
  return { ...actual, startCheckout: vi.fn(actual.startCheckout) }
})

const db = getDb()
const ORIGIN = 'https://appeals.example.org'
/**
 * The origin requests arrive on: behind a TLS load balancer, plain http to an inner address. Every
 * absolute address must still be APP_URL's (ORIGIN), never this one (docs/decisions/022).
 */
const REQUEST_ORIGIN = 'http://10.0.0.5:8080'
const DAY = 24 * 60 * 60 * 1000

/** The loader's data; it answers with data(…) so that a returning donor's page can say no-store. */
async function loadAppeal(slug: string, search = '') {
  const result = await loader({
    request: new Request(`${REQUEST_ORIGIN}/appeals/${slug}${search}`),
    params: { slug },
    context: {},
  })
  return result.data
}

/** What the loader threw (a Response for a 404), or a failure if it returned. */
async function loaderFailure(slug: string): Promise<Response> {
  const thrown = await loadAppeal(slug).then(
    () => expect.fail(`the loader returned a page for ${slug}`),
    (error: unknown) => error,
  )
  expect(thrown).toBeInstanceOf(Response)
  return thrown as Response
}

function validForm(overrides: Record<string, string | null> = {}) {
  const fields: Record<string, string | null> = {
    submissionId: crypto.randomUUID(),
    frequency: 'one_off',
    amount: '2500',
    customAmount: '',
    name: 'Maryam Test',
    email: 'maryam@example.org',
    message: '',
    website: '',
    ...overrides,
  }
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) if (value !== null) form.set(name, value)
  return form
}

function postDonation(slug: string, form: FormData) {
  return action({
    request: new Request(`${REQUEST_ORIGIN}/appeals/${slug}`, { method: 'POST', body: form }),
    params: { slug },
    context: {},
  })
}

type Reply = { status?: string; error?: Record<string, string[] | null>; initialValue?: Record<string, unknown> | null }

/** The action's `data(reply, init)` result: its status and conform's reply. */
function asReply(result: unknown): { status: number; reply: Reply; headers: Headers } {
  expect(result).not.toBeInstanceOf(Response)
  const wrapped = result as { data: Reply; init: ResponseInit | null }
  return { status: wrapped.init?.status ?? 200, reply: wrapped.data, headers: new Headers(wrapped.init?.headers) }
}

async function rowCounts() {
  const count = async (table: 'donations' | 'supporters' | 'gift_aid_declarations' | 'recurring_plans') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return {
    donations: await count('donations'),
    supporters: await count('supporters'),
    giftAid: await count('gift_aid_declarations'),
    plans: await count('recurring_plans'),
  }
}

afterAll(() => {
  vi.unstubAllEnvs()
  resetEnvForTests()
})

beforeAll(async () => {
  vi.stubEnv('APP_URL', ORIGIN)
  resetEnvForTests()
  await seedDemoData(db)
})

beforeEach(() => {
  vi.mocked(startCheckout).mockClear()
})

describe('the appeal page loader', () => {
  test('shows the demo appeal with its totals, state and closing date', async () => {
    const page = await loadAppeal('walk-again-yusuf')
    expect(page.appeal.title).toBe('Help Yusuf walk again')
    expect(page.appeal.beneficiaryName).toBe('Yusuf')
    expect(page.appeal.beneficiaryIsPseudonym).toBe(true)
    // Issue 13: the demo is a live-looking campaign; its totals are the seed's gifts, each from its own donor.
    const gifts = demoGifts().filter((gift) => gift.appeal === 'walk-again-yusuf')
    expect(page.totals).toEqual({ raisedMinor: gifts.reduce((sum, gift) => sum + gift.amount, 0), donorCount: gifts.length })
    expect(page.state).toBe('open')
    expect(page.daysLeft).toBe(75)
    expect(page.appeal.suggestedAmountsMinor).toEqual([1_000, 2_500, 5_000, 10_000])
    expect(page.giftAidAvailable).toBe(true)
    expect(page.organisationName).toBe('CAGE')
    expect(page.submissionId).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('builds absolute addresses for share cards from APP_URL, never from the request', async () => {
    const page = await loadAppeal('walk-again-yusuf')
    expect(page.pageUrl).toBe(`${ORIGIN}/appeals/walk-again-yusuf`)
    // Issue 13: a JPEG, since social sites ignore an SVG og:image.
    expect(page.imageUrl).toBe(`${ORIGIN}/images/appeals/walk-again.jpg`)
  })

  test('gives every page view a fresh submission id', async () => {
    const [first, second] = await Promise.all([loadAppeal('walk-again-yusuf'), loadAppeal('walk-again-yusuf')])
    expect(first.submissionId).not.toBe(second.submissionId)
  })

  test('shows supporters only as they chose, newest first', async () => {
    const { supporters } = await loadAppeal('walk-again-yusuf')
    // Issue 13: the demo has tens of gifts, so the ten newest are shown; what each shows is what its donor chose.
    const expected = demoGifts()
      .filter((gift) => gift.appeal === 'walk-again-yusuf')
      .sort((a, b) => a.ageMs - b.ageMs)
      .slice(0, 10)
      .map((gift) => ({ name: gift.showName ? gift.name : 'Anonymous', amountMinor: gift.showAmount ? gift.amount : null, message: gift.message }))
    expect(supporters).toEqual(expected)
    expect(supporters).toContainEqual({ name: 'Aisha R.', amountMinor: 5_000, message: 'Walk tall, brother. We are with you.' })
    expect(supporters).toContainEqual({ name: 'Tom W.', amountMinor: null, message: null })
    expect(supporters.map((supporter) => supporter.name)).toContain('Anonymous')
  })

  test('never sends an email address or a hidden name to the browser', async () => {
    const serialised = JSON.stringify(await loadAppeal('walk-again-yusuf'))
    expect(serialised).not.toContain('@')
    expect(serialised).not.toContain('demo-donor')
    expect(serialised).not.toContain('Private donor')
  })

  test('renders the story and updates from Markdown, newest update first', async () => {
    const page = await loadAppeal('walk-again-yusuf')
    expect(page.appeal.storyHtml).toContain('<h3>What your gift pays for</h3>')
    expect(page.appeal.storyHtml).toContain('<strong>Twelve months of physiotherapy</strong>')
    expect(page.updates.map((update) => update.title)).toEqual(['First physiotherapy assessment'])
    expect(page.updates[0]!.bodyHtml).toMatch(/^<p>Thanks to your first gifts/)
  })

  test('an unknown appeal is a 404', async () => {
    expect((await loaderFailure('no-such-appeal')).status).toBe(404)
  })

  test('a draft appeal is a 404', async () => {
    await db.updateTable('appeals').set({ status: 'draft' }).where('slug', '=', 'medical-care-karim').execute()
    try {
      expect((await loaderFailure('medical-care-karim')).status).toBe(404)
    } finally {
      await db.updateTable('appeals').set({ status: 'published' }).where('slug', '=', 'medical-care-karim').execute()
    }
  })

  test('an appeal whose closing date has passed is closed', async () => {
    await db
      .updateTable('appeals')
      .set({ closes_at: new Date(Date.now() - DAY) })
      .where('slug', '=', 'rebuild-home-samir')
      .execute()
    const page = await loadAppeal('rebuild-home-samir')
    expect(page.state).toBe('closed')
    expect(page.daysLeft).toBeNull()
  })

  test('an appeal staff have closed stays readable, as closed', async () => {
    await db.updateTable('appeals').set({ status: 'closed' }).where('slug', '=', 'medical-care-karim').execute()
    try {
      expect((await loadAppeal('medical-care-karim')).state).toBe('closed')
    } finally {
      await db.updateTable('appeals').set({ status: 'published' }).where('slug', '=', 'medical-care-karim').execute()
    }
  })

  test('an open appeal that has raised its goal is still open, with the goal reached', async () => {
    const appeal = await db
      .selectFrom('appeals')
      .select(['id', 'goal_minor'])
      .where('slug', '=', 'medical-care-karim')
      .executeTakeFirstOrThrow()
    // The demo totals live in the appeal's first total row.
    const setRaised = (amount: number) =>
      db.updateTable('appeal_total_shards').set({ confirmed_gross_minor: amount }).where('appeal_id', '=', appeal.id).where('shard', '=', 0).execute()
    await setRaised(appeal.goal_minor)
    try {
      const page = await loadAppeal('medical-care-karim')
      expect(page.state).toBe('goal-reached')
      expect(page.totals.raisedMinor).toBe(appeal.goal_minor)
    } finally {
      await setRaised(3_000)
    }
  })

  test('does not offer Gift Aid on an appeal in another currency', async () => {
    await db.updateTable('appeals').set({ closes_at: new Date(Date.now() + DAY) }).where('slug', '=', 'rebuild-home-samir').execute()
    const page = await loadAppeal('rebuild-home-samir')
    expect(page.appeal.currency).toBe('USD')
    expect(page.giftAidAvailable).toBe(false)
  })

  test('escapes HTML written into a story', async () => {
    await db
      .updateTable('appeals')
      .set({ story_markdown: 'Hello <script>alert(1)</script> and <img src=x onerror=alert(1)>' })
      .where('slug', '=', 'medical-care-karim')
      .execute()
    const { appeal } = await loadAppeal('medical-care-karim')
    expect(appeal.storyHtml).not.toContain('<script')
    expect(appeal.storyHtml).not.toContain('<img')
    expect(appeal.storyHtml).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })
})

describe('rendering Markdown', () => {
  test('escapes raw HTML instead of passing it through', () => {
    expect(renderMarkdown('<script>alert(1)</script>')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n')
  })

  test('does not make a javascript: link', () => {
    const html = renderMarkdown('[x](javascript:alert(1)) and [y](JAVASCRIPT:alert(1)) and [z](vbscript:msgbox)')
    expect(html).not.toContain('<a')
    expect(html).not.toMatch(/href=/)
  })

  test('turns an image from another website into a link, so nothing is loaded from it', () => {
    const html = renderMarkdown('![A portrait](https://evil.example/tracker.png)')
    expect(html).not.toContain('<img')
    expect(html).toContain('<a href="https://evil.example/tracker.png" rel="nofollow noopener noreferrer">Image: A portrait</a>')
  })

  test('treats protocol-relative and backslash tricks as other websites', () => {
    expect(renderMarkdown('![x](//evil.example/a.png)')).not.toContain('<img')
    expect(renderMarkdown('![x](https:/\\evil.example/a.png)')).not.toContain('<img')
    expect(renderMarkdown('![x](http:/evil.example/a.png)', { origin: ORIGIN })).not.toContain('<img')
    expect(renderMarkdown('![x](https:/evil.example/a.png)', { origin: ORIGIN })).not.toContain('<img')
  })

  test('keeps images from this site, relative or on its own origin', () => {
    expect(renderMarkdown('![A path](/images/appeals/walk-again.svg)')).toContain(
      '<img src="/images/appeals/walk-again.svg" alt="A path">',
    )
    expect(renderMarkdown(`![Ours](${ORIGIN}/images/a.png)`, { origin: ORIGIN })).toContain(`<img src="${ORIGIN}/images/a.png"`)
    expect(renderMarkdown(`![Ours](${ORIGIN}/images/a.png)`)).not.toContain('<img')
  })

  test('adds rel="nofollow noopener noreferrer" to links', () => {
    expect(renderMarkdown('[Amnesty](https://www.amnesty.org)')).toBe(
      '<p><a href="https://www.amnesty.org" rel="nofollow noopener noreferrer">Amnesty</a></p>\n',
    )
  })

  test('renders headings, lists and emphasis', () => {
    const html = renderMarkdown('# Story\n\n## Needs\n\n- *physio*\n- **brace**\n\n1. one\n2. two')
    // The page title is the only <h1>: headings in a story move one level down.
    expect(html).toContain('<h2>Story</h2>')
    expect(html).toContain('<h3>Needs</h3>')
    expect(html).not.toContain('<h1>')
    expect(html).toContain('<ul>\n<li><em>physio</em></li>\n<li><strong>brace</strong></li>\n</ul>')
    expect(html).toContain('<ol>\n<li>one</li>\n<li>two</li>\n</ol>')
  })
})

describe('the donation action, before checkout', () => {
  const invalidCases: Array<[string, FormData, string, RegExp]> = [
    ['a missing email', validForm({ email: '' }), 'email', /Enter your email address so we can send your receipt/],
    ['an amount below the minimum', validForm({ amount: 'other', customAmount: '1.50' }), 'customAmount', /smallest gift we can take is £2\.00/],
    ['a message over 500 characters', validForm({ message: 'a'.repeat(501), showMessage: 'on' }), 'message', /500 characters or fewer/],
    [
      'Gift Aid without a postcode',
      validForm({ giftAid: 'on', ukTaxpayer: 'on', fullName: 'Maryam Test', houseNameOrNumber: '12', address: 'High Street, Leeds' }),
      'postcode',
      /Enter your postcode/,
    ],
  ]

  test.each(invalidCases)('rejects %s with a 400, keeps the values and writes nothing', async (_case, form, field, message) => {
    const before = await rowCounts()
    const { status, reply } = asReply(await postDonation('walk-again-yusuf', form))
    expect(status).toBe(400)
    expect(reply.status).toBe('error')
    expect(reply.error?.[field]?.[0]).toMatch(message)
    expect(reply.initialValue?.name).toBe('Maryam Test')
    expect(await rowCounts()).toEqual(before)
    expect(startCheckout).not.toHaveBeenCalled()
  })

  test('rejects a filled honeypot with a generic form error and does nothing else', async () => {
    const before = await rowCounts()
    const { status, reply } = asReply(await postDonation('walk-again-yusuf', validForm({ website: 'https://spam.example' })))
    expect(status).toBe(400)
    expect(reply.error?.['']).toEqual(['We could not take your donation. Please check the form and try again.'])
    expect(reply.initialValue?.website).toBeUndefined()
    expect(await rowCounts()).toEqual(before)
    expect(startCheckout).not.toHaveBeenCalled()
  })

  test('refuses a gift to a closed appeal', async () => {
    await db.updateTable('appeals').set({ status: 'closed' }).where('slug', '=', 'medical-care-karim').execute()
    try {
      const before = await rowCounts()
      const { status, reply } = asReply(await postDonation('medical-care-karim', validForm({ amount: '3000' })))
      expect(status).toBe(400)
      expect(reply.error?.['']).toEqual(['This appeal has closed'])
      expect(await rowCounts()).toEqual(before)
      expect(startCheckout).not.toHaveBeenCalled()
    } finally {
      await db.updateTable('appeals').set({ status: 'published' }).where('slug', '=', 'medical-care-karim').execute()
    }
  })

  test('a draft appeal takes no gifts: 404', async () => {
    await db.updateTable('appeals').set({ status: 'draft' }).where('slug', '=', 'medical-care-karim').execute()
    try {
      const thrown = await postDonation('medical-care-karim', validForm()).catch((error: unknown) => error)
      expect(thrown).toBeInstanceOf(Response)
      expect((thrown as Response).status).toBe(404)
    } finally {
      await db.updateTable('appeals').set({ status: 'published' }).where('slug', '=', 'medical-care-karim').execute()
    }
  })
})

describe('the donation action, answering what checkout decided', () => {
  test('hands a valid gift to checkout and sends the browser on with a 303', async () => {
    const submissionId = crypto.randomUUID()
    vi.mocked(startCheckout).mockResolvedValueOnce({ kind: 'redirect', url: 'https://checkout.stripe.com/c/pay/cs_test_1', submissionId })
    const response = await postDonation(
      'walk-again-yusuf',
      validForm({ submissionId, amount: 'other', customAmount: '12.34', coverFee: 'on', showName: 'on', message: '  Stay strong  ' }),
    )
    expect(response).toBeInstanceOf(Response)
    expect((response as Response).status).toBe(303)
    expect((response as Response).headers.get('Location')).toBe('https://checkout.stripe.com/c/pay/cs_test_1')

    const appeal = await db.selectFrom('appeals').select('id').where('slug', '=', 'walk-again-yusuf').executeTakeFirstOrThrow()
    expect(startCheckout).toHaveBeenCalledTimes(1)
    const [, request, context] = vi.mocked(startCheckout).mock.calls[0]!
    expect(request).toEqual({
      appealId: appeal.id,
      submissionId,
      frequency: 'one_off',
      amountMinor: 1_234,
      coverFee: true,
      name: 'Maryam Test',
      email: 'maryam@example.org',
      message: 'Stay strong',
      showName: true,
      showAmount: false,
      showMessage: false,
      updatesOptIn: false,
      giftAid: null,
    })
    expect(context.origin).toBe(ORIGIN)
  })

  test('a rate-limited client gets a 429 with a message it can act on', async () => {
    vi.mocked(startCheckout).mockResolvedValueOnce({ kind: 'rate-limited', retryAfterSeconds: 120 })
    const { status, reply, headers } = asReply(await postDonation('walk-again-yusuf', validForm()))
    expect(status).toBe(429)
    expect(headers.get('Retry-After')).toBe('120')
    expect(reply.error?.['']).toEqual(['Too many attempts from your connection. Please try again in 2 minutes.'])
  })

  test('an appeal that closed while the form was open gets a 400', async () => {
    vi.mocked(startCheckout).mockResolvedValueOnce({ kind: 'closed' })
    const { status, reply } = asReply(await postDonation('walk-again-yusuf', validForm()))
    expect(status).toBe(400)
    expect(reply.error?.['']).toEqual(['This appeal has closed'])
  })

  test('a payment provider outage is a 503 with its message, keeping the submission id for a retry', async () => {
    vi.mocked(startCheckout).mockResolvedValueOnce({ kind: 'unavailable', message: 'Payments are unavailable just now.' })
    const submissionId = crypto.randomUUID()
    const { status, reply } = asReply(await postDonation('walk-again-yusuf', validForm({ submissionId })))
    expect(status).toBe(503)
    expect(reply.error?.['']).toEqual(['Payments are unavailable just now.'])
    expect(reply.initialValue?.submissionId).toBe(submissionId)
  })
})
