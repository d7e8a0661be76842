import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { action } from '#app/routes/appeals.$slug.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'

const db = getDb()
const ORIGIN = 'http://localhost:3000'

beforeAll(async () => {
  delete process.env.STRIPE_SECRET_KEY
  resetEnvForTests()
  await seedDemoData(db)
})

async function counts() {
  const count = async (table: 'donations' | 'supporters' | 'gift_aid_declarations' | 'recurring_plans' | 'webhook_events') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return Promise.all(['donations', 'supporters', 'gift_aid_declarations', 'recurring_plans', 'webhook_events'].map((table) => count(table as never)))
}

const field = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', 'other', '2500', '-1', '0', '1e9', '99999999999999999999', '<script>', "' or 1=1 --", '\u0000', '£25', 'on', 'true'),
  fc.string({ minLength: 480, maxLength: 700 }),
)

/**
 * Any form a browser (or a script) could post: a 400 with the database unchanged, or a redirect
 * to checkout. Never a crash, never a half-written donation.
 */
test('property: fuzzed donation forms answer 400 and write nothing, or lead to checkout', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(
        fc.constantFrom(
          'submissionId', 'frequency', 'amount', 'customAmount', 'coverFee', 'name', 'email', 'message', 'showName',
          'showAmount', 'showMessage', 'updatesOptIn', 'giftAid', 'ukTaxpayer', 'fullName', 'houseNameOrNumber',
          'address', 'postcode', 'website', 'unexpected',
        ),
        field,
      ),
      fc.boolean(),
      async (fields, validBase) => {
        const form = new FormData()
        if (validBase) {
          form.set('submissionId', randomUUID())
          form.set('amount', '2500')
          form.set('name', 'Fuzz Donor')
          form.set('email', `fuzz-${randomUUID().slice(0, 8)}@example.org`)
        }
        for (const [name, value] of Object.entries(fields)) form.set(name, value)
        const before = await counts()
        let result: unknown
        try {
          result = await action({
            request: new Request(`${ORIGIN}/appeals/walk-again-yusuf`, { method: 'POST', body: form, headers: { 'x-sanad-client-ip': `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` } }),
            params: { slug: 'walk-again-yusuf' },
            context: {},
          })
        } catch (thrown) {
          result = thrown
        }
        const status = result instanceof Response ? result.status : ((result as { init?: { status?: number } }).init?.status ?? 200)
        expect(status, JSON.stringify(fields)).not.toBe(500)
        if (status === 303) {
          expect((result as Response).headers.get('location')).toMatch(/\/dev\/checkout\//)
        } else {
          expect([400, 429]).toContain(status)
          expect(await counts()).toEqual(before)
        }
      },
    ),
    { numRuns: 150 },
  )
}, 240_000)
