import { randomBytes, randomUUID } from 'node:crypto'
import type { ActionFunctionArgs } from '@remix-run/node'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { emailSchedulingSettled } from '#app/modules/email/outbox.server.ts'
import { getOrCreateSaver } from '#app/modules/events/saved-events.server.ts'
import { requestSaverLink } from '#app/modules/events/saver-links.server.ts'
import { createSignInToken } from '#app/modules/staff/sign-in.server.ts'
import { action as appealAction } from '#app/routes/appeals.$slug.tsx'
import { action as stopMonthlyAction } from '#app/routes/donate.monthly.stop.tsx'
import { action as eventAction } from '#app/routes/events.$slug.tsx'
import { action as saveAction } from '#app/routes/events.save.ts'
import { action as manageAction } from '#app/routes/registrations.$id.tsx'
import { action as alertsOffAction } from '#app/routes/saved_.alerts.off.tsx'
import { action as verifyAction } from '#app/routes/saved_.verify.tsx'
import { action as savedAction } from '#app/routes/saved.tsx'
import { action as signInAction } from '#app/routes/staff_.sign-in.tsx'
import { action as signInVerifyAction } from '#app/routes/staff_.sign-in_.verify.tsx'
import { action as signOutAction } from '#app/routes/staff_.sign-out.ts'
import { action as stopUpdatesAction } from '#app/routes/updates.stop.tsx'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import {
  manageRegistrationUrl,
  saverAlertsOffUrl,
  stopAppealUpdatesUrl,
  stopMonthlyGiftUrl,
} from '#app/utils/signed-links.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { changedTables, snapshot } from './database-snapshot.ts'
import { createAppeal, createPendingDonation } from './donation-fixtures.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'
import { createStaff, sessionCookieFor } from './staff-fixtures.ts'

/**
 * Every action a stranger can reach, given whatever a browser or a script could send: never a
 * 500 or an unhandled throw (a thrown Response below 500 is an answer), and every refusal (400,
 * 403, 404, 405, 409, 422, 429) leaves every app table exactly as it was. An accepted request
 * may write; the point is that a refused one never writes half of something.
 */

const db = getDb()
const ORIGIN = 'http://localhost:3000'
const REFUSALS = [400, 403, 404, 405, 409, 410, 422, 429]
/** Bounded for the suite; FUZZ_RUNS=500 for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60)
const seen = new Map<string, number>()
afterAll(() => {
  if (process.env.FUZZ_RUNS) console.log(Object.fromEntries([...seen].sort()))
})

let eventSlugs: string[]
let eventIds: string[]
let ticketIds: string[]

beforeAll(async () => {
  delete process.env.STRIPE_SECRET_KEY
  resetEnvForTests()
  await seedDemoData(db)
  const events = await db.selectFrom('events').select(['id', 'slug']).execute()
  eventSlugs = events.map((event) => event.slug)
  eventIds = events.map((event) => event.id)
  ticketIds = (await db.selectFrom('ticket_types').select('id').execute()).map((ticket) => ticket.id)
})

/** Field values people and scripts send: ordinary, hostile, malformed, huge, and every kind of Unicode. */
const junk = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 3, arbitrary: fc.constantFrom('', ' ', 'on', 'true', 'false', '0', '1', '-1', '2', '1e9', '99999999999999999999', 'NaN', '25.50', '<script>alert(1)</script>', "' or 1=1 --", '\u0000', 'a\u0000b', '\ud800', '😀', 'null', 'undefined', '{}', '[]', '%00', '../../etc/passwd', '//evil.example', '/\\evil.example', 'https://evil.example/') },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 300, maxLength: 2500 }) },
  { weight: 1, arbitrary: fc.emailAddress() },
)

type Field = [string, string | 'FILE']
type Fuzzed = { fields: Field[]; crossSite: boolean; body: 'form' | 'multipart' | 'json' | 'none' | 'garbage'; method: string }

/** A form: some of the real fields, some unknown ones, repeated names, now and then a file or a body that is not a form at all. */
function formOf(names: string[]) {
  const field = fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), fc.oneof({ weight: 20, arbitrary: junk }, { weight: 1, arbitrary: fc.constant('FILE' as const) }))
  return fc.record<Fuzzed>({
    fields: fc.array(field, { maxLength: names.length + 3 }),
    crossSite: fc.boolean().map((cross) => cross && Math.random() < 0.3),
    body: fc.constantFrom('form', 'form', 'form', 'form', 'multipart', 'multipart', 'json', 'none', 'garbage'),
    method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'),
  })
}

let ipCounter = 0
function request(path: string, fuzzed: Fuzzed, base: Record<string, string>, cookie?: string) {
  ipCounter += 1
  const headers = new Headers({ [CLIENT_IP_HEADER]: `100.64.${ipCounter >> 8}.${ipCounter & 255}` })
  headers.set('Origin', fuzzed.crossSite ? 'https://evil.example' : ORIGIN)
  if (!fuzzed.crossSite) headers.set('Sec-Fetch-Site', 'same-origin')
  if (cookie) headers.set('Cookie', cookie)
  const pairs: [string, string | Blob][] = [
    ...Object.entries(base),
    ...fuzzed.fields.map(([name, value]): [string, string | Blob] => [name, value === 'FILE' ? new Blob([randomBytes(16)]) : value]),
  ]
  // Fuzzed fields replace the base's, except now and then a name comes twice.
  const merged = new Map<string, string | Blob>()
  for (const [name, value] of pairs) merged.set(name, value)
  const entries = [...merged, ...(pairs.length > 1 && ipCounter % 5 === 0 ? [pairs[pairs.length - 1]!] : [])]
  let body: BodyInit | undefined
  switch (fuzzed.body) {
    case 'form': {
      body = new URLSearchParams(entries.map(([name, value]) => [name, typeof value === 'string' ? value : 'file']))
      break
    }
    case 'multipart': {
      const form = new FormData()
      for (const [name, value] of entries) form.append(name, value)
      body = form
      break
    }
    case 'json':
      headers.set('Content-Type', 'application/json')
      body = JSON.stringify(Object.fromEntries(entries))
      break
    case 'garbage':
      headers.set('Content-Type', 'multipart/form-data; boundary=----nothing-like-it')
      body = '--wrong\r\nContent-Disposition: form-data; name="x"\r\n\r\nno end'
      break
    case 'none':
      break
  }
  const method = fuzzed.method
  return new Request(`${ORIGIN}${path}`, { method, headers, body: method === 'GET' ? undefined : body })
}

/** Runs an action and reads its status the way Remix would; a throw that is not a Response is a crash. */
async function statusOf(run: () => Promise<unknown>): Promise<{ status: number; crash?: unknown }> {
  let result: unknown
  try {
    result = await run()
  } catch (thrown) {
    if (!(thrown instanceof Response)) return { status: 500, crash: thrown }
    result = thrown
  }
  if (result instanceof Response) return { status: result.status }
  if (result && typeof result === 'object' && 'type' in result && result.type === 'DataWithResponseInit') {
    return { status: (result as unknown as { init: ResponseInit | null }).init?.status ?? 200 }
  }
  return { status: 200 }
}

async function expectSafe(label: string, fuzzed: unknown, run: () => Promise<unknown>) {
  // Delivery jobs for emails committed by the fixtures are added just after their commit.
  await emailSchedulingSettled()
  const before = await snapshot(db)
  const { status, crash } = await statusOf(run)
  await emailSchedulingSettled()
  const context = `${label}: ${JSON.stringify(fuzzed)}`
  if (crash) throw new Error(`${context} threw ${String((crash as Error)?.stack ?? crash)}`)
  expect(status, context).toBeLessThan(500)
  seen.set(`${label} ${status}`, (seen.get(`${label} ${status}`) ?? 0) + 1)
  if (REFUSALS.includes(status)) {
    const after = await snapshot(db)
    expect(changedTables(before, after), `${context} answered ${status} and changed`).toEqual([])
  }
  return status
}

type Action = (args: ActionFunctionArgs) => Promise<unknown>
const call = (action: Action, req: Request, params: Record<string, string> = {}) => () => action({ request: req, params, context: {} })

test('property: the donation form', async () => {
  const names = ['submissionId', 'frequency', 'amount', 'customAmount', 'coverFee', 'name', 'email', 'message', 'showName', 'showAmount', 'showMessage', 'updatesOptIn', 'giftAid', 'ukTaxpayer', 'fullName', 'houseNameOrNumber', 'address', 'postcode', 'website']
  await fc.assert(
    fc.asyncProperty(formOf(names), fc.boolean(), fc.constantFrom('walk-again-yusuf', 'medical-care-karim', 'no-such-appeal', ''), async (fuzzed, valid, slug) => {
      const base: Record<string, string> = valid ? { submissionId: randomUUID(), amount: '2500', name: 'Fuzz Donor', email: `fuzz-${randomUUID().slice(0, 8)}@example.org` } : {}
      await expectSafe('donation', { fuzzed, valid, slug }, call(appealAction, request(`/appeals/${slug}`, fuzzed, base), { slug }))
    }),
    { numRuns: RUNS },
  )
}, 240_000)

test('property: the registration form', async () => {
  const names = ['submissionId', 'ticketTypeId', 'quantity', 'chosenPrice', 'name', 'email', 'accessNeeds', 'privacyConsent', 'website']
  await fc.assert(
    fc.asyncProperty(formOf(names), fc.boolean(), fc.nat(), fc.nat(), async (fuzzed, valid, eventIndex, ticketIndex) => {
      const slug = [...eventSlugs, 'no-such-event'][eventIndex % (eventSlugs.length + 1)]!
      const base: Record<string, string> = valid
        ? { submissionId: randomUUID(), ticketTypeId: ticketIds[ticketIndex % ticketIds.length]!, quantity: '1', chosenPrice: '5', name: 'Fuzz Person', email: `fuzz-${randomUUID().slice(0, 8)}@example.org`, privacyConsent: 'on' }
        : {}
      await expectSafe('registration', { fuzzed, valid, slug }, call(eventAction, request(`/events/${slug}`, fuzzed, base), { slug }))
    }),
    { numRuns: RUNS },
  )
}, 240_000)

test('property: saving and unsaving events', async () => {
  const cookie = (await saverCookieHeader(await getOrCreateSaver(db, null))).split(';')[0]!
  await fc.assert(
    fc.asyncProperty(formOf(['eventId', 'intent', 'redirectTo', '_fetcher']), fc.boolean(), fc.nat(), fc.constantFrom(undefined, cookie, 'sanad_saver=forged', 'sanad_saver=%00'), async (fuzzed, valid, index, sent) => {
      const base: Record<string, string> = valid ? { eventId: eventIds[index % eventIds.length]!, intent: index % 2 ? 'save' : 'unsave' } : {}
      await expectSafe('save', { fuzzed, valid, sent }, call(saveAction, request('/events/save', fuzzed, base, sent)))
    }),
    { numRuns: RUNS },
  )
}, 240_000)

test('property: asking for a saved-events link', async () => {
  await fc.assert(
    fc.asyncProperty(formOf(['email', 'alertsReminder', 'alertsFewPlaces']), fc.boolean(), async (fuzzed, valid) => {
      const base: Record<string, string> = valid ? { email: `keep-${randomUUID().slice(0, 8)}@example.org` } : {}
      await expectSafe('saved', { fuzzed, valid }, call(savedAction, request('/saved', fuzzed, base)))
    }),
    { numRuns: RUNS },
  )
}, 240_000)

test('property: confirming a saved-events link', async () => {
  await fc.assert(
    fc.asyncProperty(formOf(['token', 'signature', 'email', 'addOwnSaves']), fc.boolean(), async (fuzzed, valid) => {
      // A fresh link each time: six wrong addresses spend a link on purpose (its own test covers that).
      const email = `confirm-${randomUUID().slice(0, 8)}@example.org`
      await requestSaverLink(db, { saverId: await getOrCreateSaver(db, null), email, alertsReminder: true, alertsFewPlaces: false }, `100.65.${ipCounter >> 8}.${ipCounter & 255}`)
      const sent = await db.selectFrom('email_outbox').select('props').where('to_address', '=', email).executeTakeFirstOrThrow()
      const link = new URL((sent.props as { linkUrl: string }).linkUrl)
      const base: Record<string, string> = valid ? { token: link.searchParams.get('token')!, signature: link.searchParams.get('signature')!, email } : {}
      await expectSafe('verify', { fuzzed, valid }, call(verifyAction, request('/saved/verify', fuzzed, base)))
    }),
    // Found by a longer run: a NUL in the typed address reached the query and failed it (500).
    { numRuns: RUNS, examples: [[{ fields: [['email', 'a\u0000b']], crossSite: false, body: 'form', method: 'POST' }, true]] },
  )
}, 240_000)

test('property: the pages behind signed links (alerts off, stop updates, stop a monthly gift, cancel or claim a place)', async () => {
  const appeal = await createAppeal()
  const event = await createEvent({ capacity: 1000 })
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('alerts', 'updates', 'monthly', 'registration'),
      formOf(['saver', 'appeal', 'supporter', 'plan', 'signature', 'intent']),
      fc.boolean(),
      // A path segment is always well-formed text: a URL cannot carry half a surrogate pair.
      fc.oneof(fc.constant(null), junk.filter((id) => id.length > 0 && !/[\ud800-\udfff]/.test(id.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))),
      async (page, fuzzed, valid, fuzzedId) => {
        const saverId = await getOrCreateSaver(db, null)
        const gift = await createPendingDonation({ appealId: appeal.id, amountMinor: 1000, frequency: page === 'monthly' ? 'monthly' : 'one_off' })
        if (gift.recurringPlanId) await db.updateTable('recurring_plans').set({ status: 'active' }).where('id', '=', gift.recurringPlanId).execute()
        const signed = (url: string) => (valid ? Object.fromEntries(new URL(url).searchParams) : {})
        switch (page) {
          case 'alerts':
            return void (await expectSafe(page, { fuzzed, valid }, call(alertsOffAction, request('/saved/alerts/off', fuzzed, signed(saverAlertsOffUrl(saverId))))))
          case 'updates':
            return void (await expectSafe(page, { fuzzed, valid }, call(stopUpdatesAction, request('/updates/stop', fuzzed, signed(stopAppealUpdatesUrl(appeal.id, gift.supporterId))))))
          case 'monthly':
            return void (await expectSafe(page, { fuzzed, valid }, call(stopMonthlyAction, request('/donate/monthly/stop', fuzzed, signed(stopMonthlyGiftUrl(gift.recurringPlanId!))))))
          case 'registration': {
            const placed = await register(registrationRequest(event))
            if (placed.kind !== 'confirmed') throw new Error(placed.kind)
            const id = fuzzedId ?? new URL(placed.manageUrl).pathname.split('/').pop()!
            const base = valid ? { ...signed(manageRegistrationUrl(id)), intent: 'cancel' } : {}
            return void (await expectSafe(page, { fuzzed, valid, id }, call(manageAction, request(`/registrations/${encodeURIComponent(id)}`, fuzzed, base), { id })))
          }
        }
      },
    ),
    { numRuns: RUNS * 2 },
  )
}, 240_000)

test('property: staff sign-in, by password or by link, and opening a sign-in link', async () => {
  const user = await createStaff('staff', { password: 'correct horse battery staple' })
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('password', 'link', 'verify'), formOf(['intent', 'email', 'password', 'redirectTo', 'token']), fc.boolean(), async (kind, fuzzed, valid) => {
      if (kind === 'verify') {
        const { token } = await createSignInToken(db, user.id)
        return void (await expectSafe(kind, { fuzzed, valid }, call(signInVerifyAction, request('/staff/sign-in/verify', fuzzed, valid ? { token } : {}))))
      }
      const base: Record<string, string> = valid ? { intent: kind, email: user.email, password: 'correct horse battery staple' } : { intent: kind }
      await expectSafe(kind, { fuzzed, valid }, call(signInAction, request('/staff/sign-in', fuzzed, base)))
    }),
    { numRuns: RUNS },
  )
}, 240_000)

test('property: signing out, with a session, a stale one, or none', async () => {
  const user = await createStaff('viewer')
  await fc.assert(
    fc.asyncProperty(formOf(['everywhere']), fc.constantFrom('none', 'session', 'forged'), async (fuzzed, who) => {
      const cookie = who === 'session' ? await sessionCookieFor(user.id) : who === 'forged' ? 'sanad_staff=forged' : undefined
      await expectSafe('sign-out', { fuzzed, who }, call(signOutAction, request('/staff/sign-out', fuzzed, {}, cookie)))
    }),
    { numRuns: RUNS },
  )
}, 240_000)
