import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import type { StaffRole } from '#db/schema.ts'
import { hasRole, requireStaff } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney, progressPercent } from '#app/utils/money.ts'
import { DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_ADMIN_TOTP_SECRET } from '#scripts/seed/demo-staff.ts'
import { action as codeAction } from '#app/routes/staff_.sign-in_.code.tsx'
import { codeFor } from '#app/modules/staff/two-factor.server.ts'
import { demoGifts, seedDemoData } from '#scripts/seed/demo-data.ts'
import { loader as totalsLoader } from '#app/routes/staff._index.tsx'
import { action as signInAction } from '#app/routes/staff_.sign-in.tsx'
import { cookieFrom, createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
const routesDir = fileURLToPath(new URL('../../app/routes/', import.meta.url))
const args = (request: Request, params: Record<string, string>) => ({ request, params, context: {} })

type RouteModule = {
  loader?: (args: { request: Request; params: Record<string, string>; context: object }) => Promise<unknown>
  action?: (args: { request: Request; params: Record<string, string>; context: object }) => Promise<unknown>
  default?: unknown
  handle?: { staffRole?: StaffRole }
  headers?: (args: never) => HeadersInit
}

/** The URL a flat-routes file answers, with a made-up value for each parameter. */
function urlFor(file: string) {
  const params: Record<string, string> = {}
  const segments = file
    .replace(/\.(tsx|ts)$/, '')
    .replace(/\[\.\]/g, '%DOT%')
    .split('.')
    .map((segment) => segment.replace(/_$/, '').replaceAll('%DOT%', '.'))
    .filter((segment) => !segment.startsWith('_'))
    .map((segment) => {
      if (!segment.startsWith('$')) return segment
      const value = randomUUID()
      if (segment.length > 1) params[segment.slice(1)] = value
      return value
    })
  return { path: `/${segments.join('/')}`, params }
}

/** Every staff route, read from the directory, so a route added later is walked too. */
const staffRoutes = readdirSync(routesDir)
  .filter((file) => /^staff[._]/.test(file) && /\.(tsx|ts)$/.test(file))
  .sort()
const isSignInRoute = (file: string) => file.startsWith('staff_.sign-in')

async function load(file: string): Promise<RouteModule> {
  return (await import(`${routesDir}${file}`)) as RouteModule
}

test('the walk finds the staff routes', () => {
  expect(staffRoutes).toEqual(expect.arrayContaining(['staff.tsx', 'staff._index.tsx', 'staff_.sign-in.tsx', 'staff_.sign-in_.verify.tsx', 'staff_.sign-out.ts']))
  expect(urlFor('staff_.sign-in_.verify.tsx').path).toBe('/staff/sign-in/verify')
  expect(urlFor('staff._index.tsx').path).toBe('/staff')
})

describe.each(staffRoutes)('%s', (file) => {
  test('pages are never cached', async () => {
    const route = await load(file)
    if (!route.default) return
    expect(route.headers, `${file} must export headers`).toBeTypeOf('function')
    expect(new Headers(route.headers!({ actionHeaders: new Headers(), loaderHeaders: new Headers(), parentHeaders: new Headers() } as never)).get('Cache-Control')).toBe('no-store')
  })

  if (isSignInRoute(file)) {
    test('is open without a session', async () => {
      const route = await load(file)
      const { path, params } = urlFor(file)
      if (route.loader) expect((await settle(() => route.loader!(args(getRequest(path), params)))).status).toBe(200)
    })
    return
  }

  test('declares the least role that may use it', async () => {
    const { handle } = await load(file)
    expect(['viewer', 'staff', 'admin']).toContain(handle?.staffRole)
  })

  test('without a session, sends the visitor to sign in', async () => {
    const route = await load(file)
    const { path, params } = urlFor(file)
    for (const run of [
      route.loader && (() => route.loader!(args(getRequest(`${path}?x=1`), params))),
      route.action && (() => route.action!(args(postRequest(path, {}), params))),
    ]) {
      if (!run) continue
      const answer = await settle(run)
      expect(answer.status).toBe(303)
      expect(answer.headers.get('Location')).toMatch(/^\/staff\/sign-in(\?redirectTo=|$)/)
    }
  })

  test('an admin posting a body that is not a form gets a 4xx, never a crash', async () => {
    const route = await load(file)
    if (!route.action) return
    const { path, params } = urlFor(file)
    const cookie = await sessionCookieFor((await createStaff('admin')).id)
    for (const [contentType, body] of [
      ['application/json', '{"intent":"refund"}'],
      ['multipart/form-data; boundary=x', '--x\r\nbroken'],
      ['text/plain', '\u0000'],
    ]) {
      const request = postRequest(path, {}, { cookie })
      const posted = new Request(request.url, { method: 'POST', headers: request.headers, body })
      posted.headers.set('Content-Type', contentType!)
      const answer = await settle(() => route.action!(args(posted, params)))
      expect(answer.status, `${contentType} to ${file}`).toBeGreaterThanOrEqual(400)
      expect(answer.status, `${contentType} to ${file}`).toBeLessThan(500)
    }
  })

  test('with too low a role, answers 403; with enough, lets the request through', async () => {
    const route = await load(file)
    const required = route.handle?.staffRole ?? 'viewer'
    const { path, params } = urlFor(file)
    if (!route.loader) return
    for (const role of ['viewer', 'staff', 'admin'] as const) {
      const user = await createStaff(role)
      const cookie = await sessionCookieFor(user.id)
      const answer = await settle(() => route.loader!(args(getRequest(path, { cookie }), params)))
      if (hasRole(role, required)) {
        expect(answer.status, `${role} on ${file}`).not.toBe(403)
        expect(answer.headers.get('Location') ?? '', `${role} on ${file}`).not.toMatch(/^\/staff\/sign-in/)
      } else {
        expect(answer.status, `${role} on ${file}`).toBe(403)
      }
    }
  })
})

describe('roles', () => {
  test('rank viewer < staff < admin', async () => {
    const expectations: [StaffRole, StaffRole, number][] = [
      ['viewer', 'viewer', 200], ['viewer', 'staff', 403], ['viewer', 'admin', 403],
      ['staff', 'viewer', 200], ['staff', 'staff', 200], ['staff', 'admin', 403],
      ['admin', 'viewer', 200], ['admin', 'staff', 200], ['admin', 'admin', 200],
    ]
    for (const [role, required, status] of expectations) {
      const user = await createStaff(role)
      const cookie = await sessionCookieFor(user.id)
      const answer = await settle(() => requireStaff(getRequest('/staff', { cookie }), required))
      expect(answer.status, `${role} asking for ${required}`).toBe(status)
    }
  })
})

describe('campaign totals with the demo data', () => {
  let cookie: string

  beforeAll(async () => {
    await seedDemoData(db)
    // The demo admin signs in through the real form with the documented password, then the code
    // from the demo data's TOTP secret (administrators must have a second factor).
    const answer = await settle(() => signInAction(args(postRequest('/staff/sign-in', { intent: 'password', email: DEMO_ADMIN_EMAIL, password: DEMO_ADMIN_PASSWORD }), {})))
    expect(answer.status).toBe(303)
    expect(answer.headers.get('Location')).toBe('/staff/sign-in/code')
    const challenge = cookieFrom(answer.headers.get('Set-Cookie'))
    const signedIn = await settle(() => codeAction(args(postRequest('/staff/sign-in/code', { code: codeFor(DEMO_ADMIN_TOTP_SECRET) }, { cookie: challenge }), {})))
    expect(signedIn.status).toBe(303)
    cookie = signedIn.headers.getSetCookie().map((value) => value.split(';')[0]!).find((value) => value.startsWith('sanad_staff='))!
  })

  async function ledgerFor(appealId: string) {
    const { rows } = await sql<{ gross: number; refunded: number; disputed: number }>`
      select
        coalesce(sum(amount_minor) filter (where kind = 'charge'), 0)::bigint as gross,
        coalesce(-sum(amount_minor) filter (where kind = 'refund'), 0)::bigint as refunded,
        coalesce(-sum(amount_minor) filter (where kind in ('dispute_hold', 'dispute_release')), 0)::bigint as disputed
      from ledger_entries where appeal_id = ${appealId}`.execute(db)
    const counts = await sql<{ donations: number; donors: number }>`
      select count(*)::bigint as donations, count(distinct supporter_id)::bigint as donors
      from donations where appeal_id = ${appealId} and status = 'confirmed'`.execute(db)
    return { ...rows[0]!, ...counts.rows[0]! }
  }

  test('each appeal\'s totals equal what the ledger says', async () => {
    const { appeals } = (await settle(() => totalsLoader(args(getRequest('/staff', { cookie }), {})))).body as Awaited<ReturnType<typeof totalsLoader>>
    expect(appeals.map((appeal) => appeal.slug).sort()).toEqual(['medical-care-karim', 'rebuild-home-samir', 'walk-again-yusuf'])
    for (const appeal of appeals) {
      const ledger = await ledgerFor(appeal.appealId)
      expect({
        gross: appeal.grossMinor,
        refunded: appeal.refundedMinor,
        disputed: appeal.disputedMinor,
        net: appeal.netMinor,
        donations: appeal.donationCount,
        donors: appeal.donorCount,
      }).toEqual({ ...ledger, net: ledger.gross - ledger.refunded - ledger.disputed })
    }
    const yusuf = appeals.find((appeal) => appeal.slug === 'walk-again-yusuf')!
    // Issue 13: the demo's figures are its gifts (each from its own donor), not a fixed £175 from three.
    const gifts = demoGifts().filter((gift) => gift.appeal === 'walk-again-yusuf')
    const gross = gifts.reduce((sum, gift) => sum + gift.amount, 0)
    expect(yusuf).toMatchObject({ currency: 'GBP', grossMinor: gross, netMinor: gross, donationCount: gifts.length, donorCount: gifts.length, progressPercent: progressPercent(gross, 1_000_000) })
    expect(formatMoney(yusuf.netMinor, yusuf.currency)).toBe(formatMoney(gross, 'GBP'))
  })

  test('active monthly gifts count, others do not; organisation totals are per currency', async () => {
    const yusuf = await db.selectFrom('appeals').select(['id', 'currency']).where('slug', '=', 'walk-again-yusuf').executeTakeFirstOrThrow()
    const supporter = await db.insertInto('supporters').values({ name: 'Monthly', email: 'monthly@example.org' }).returning('id').executeTakeFirstOrThrow()
    await db
      .insertInto('recurring_plans')
      .values([
        { appeal_id: yusuf.id, supporter_id: supporter.id, amount_minor: 1_500, currency: 'GBP', status: 'active' },
        { appeal_id: yusuf.id, supporter_id: supporter.id, amount_minor: 2_000, currency: 'GBP', status: 'active' },
        { appeal_id: yusuf.id, supporter_id: supporter.id, amount_minor: 9_900, currency: 'GBP', status: 'cancelled' },
        { appeal_id: yusuf.id, supporter_id: supporter.id, amount_minor: 9_900, currency: 'GBP', status: 'pending' },
      ])
      .execute()

    const { appeals, organisation } = (await settle(() => totalsLoader(args(getRequest('/staff', { cookie }), {})))).body as Awaited<ReturnType<typeof totalsLoader>>
    expect(appeals.find((appeal) => appeal.appealId === yusuf.id)).toMatchObject({ activeMonthlyCount: 2, monthlyIncomeMinor: 3_500 })

    const ledgerByCurrency = await sql<{ currency: string; gross: number }>`
      select currency, sum(amount_minor) filter (where kind = 'charge')::bigint as gross
      from ledger_entries group by currency order by currency`.execute(db)
    expect(organisation.map((totals) => ({ currency: totals.currency, gross: totals.grossMinor }))).toEqual(ledgerByCurrency.rows)
    const gbp = organisation.find((totals) => totals.currency === 'GBP')!
    const gbpDonors = demoGifts().filter((gift) => gift.appeal !== 'rebuild-home-samir').length
    expect(gbp).toMatchObject({ appealCount: 2, activeMonthlyCount: 2, monthlyIncomeMinor: 3_500, donorCount: gbpDonors })
  })

  test('a viewer sees the totals too', async () => {
    const viewer = await createStaff('viewer')
    const viewerCookie = await sessionCookieFor(viewer.id)
    const answer = await settle(() => totalsLoader(args(getRequest('/staff', { cookie: viewerCookie }), {})))
    expect(answer.status).toBe(200)
  })
})
