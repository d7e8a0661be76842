import { beforeAll, describe, expect, test } from 'vitest'
import { loader as privacyLoader } from '#app/routes/privacy.tsx'
import { action as noticeAction, loader as noticeLoader } from '#app/routes/staff.privacy.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const TRUST = { charityNumber: '1234567', registeredAddress: '2 Test Road, London N1 1AA' }

/**
 * Issue 13: a real privacy notice at /privacy, with a default text that says what we collect, why,
 * for how long, who processes it and the rights under UK GDPR; administrators (only) edit it on a
 * staff page, and every change is in the audit log.
 */

const db = getDb()
const args = (request: Request) => ({ request, params: {}, context: {} })
let adminCookie: string
let adminId: string

beforeAll(async () => {
  await seedDemoData(db)
  const admin = await createStaff('admin')
  adminId = admin.id
  adminCookie = await sessionCookieFor(admin.id)
})

async function publicNotice() {
  return privacyLoader({ request: new Request('http://localhost:3000/privacy') })
}

describe('the privacy notice', () => {
  test('the default text covers what, why, how long, who processes it and the rights under UK GDPR', async () => {
    const { html } = await publicNotice()
    for (const expected of ['What we collect', 'Why we collect it', 'How long we keep it', 'Stripe', 'Resend', 'UK GDPR', 'Information Commissioner']) {
      expect(html).toContain(expected)
    }
  })

  test('staff and viewers may neither see the editing page nor save; nothing changes and nothing is audited', async () => {
    for (const role of ['staff', 'viewer'] as const) {
      const cookie = await sessionCookieFor((await createStaff(role)).id)
      expect((await settle(() => noticeLoader(args(getRequest('/staff/privacy', { cookie })))))).toMatchObject({ status: 403 })
      expect((await settle(() => noticeAction(args(postRequest('/staff/privacy', { notice: '# Changed by staff', ...TRUST }, { cookie })))))).toMatchObject({ status: 403 })
    }
    expect((await publicNotice()).html).not.toContain('Changed by staff')
    const entries = await db.selectFrom('audit_log').select('action').where('action', 'like', 'privacy_notice.%').execute()
    expect(entries).toEqual([])
  })

  test('an administrator saves a new text: the public page shows it, and the audit log says who and when', async () => {
    const answer = await settle(() =>
      noticeAction(args(postRequest('/staff/privacy', { notice: '# Our notice\r\n\r\nWe keep <script>x</script> little.', ...TRUST }, { cookie: adminCookie }))),
    )
    expect(answer.status).toBe(303)
    expect(answer.headers.get('Location')).toBe('/staff/privacy?saved=1')
    const { html, updatedAt } = await publicNotice()
    expect(html).toContain('<h2>Our notice</h2>')
    // Markdown is sanitised: the script tag is text, never markup.
    expect(html).not.toContain('<script>')
    expect(updatedAt).not.toBeNull()
    const entry = await db
      .selectFrom('audit_log')
      .select(['staff_user_id', 'action', 'subject_type', 'details'])
      .where('action', '=', 'privacy_notice.update')
      .executeTakeFirstOrThrow()
    expect(entry).toMatchObject({ staff_user_id: adminId, subject_type: 'organisation' })
    expect(entry.details).toMatchObject({ noticeChanged: true, charityNumberChanged: true, registeredAddressChanged: true })
    expect(JSON.stringify(entry.details)).not.toContain('Our notice')
    // The footer reads the same row: the number and address every page shows.
    const organisation = await db.selectFrom('organisation').select(['charity_number', 'registered_address']).executeTakeFirstOrThrow()
    expect(organisation).toEqual({ charity_number: TRUST.charityNumber, registered_address: TRUST.registeredAddress })

    // An empty text goes back to the default, audited as a reset.
    expect((await settle(() => noticeAction(args(postRequest('/staff/privacy', { notice: '  ', ...TRUST }, { cookie: adminCookie })))))).toMatchObject({ status: 303 })
    expect((await publicNotice()).html).toContain('UK GDPR')
    expect(await db.selectFrom('audit_log').select('action').where('action', '=', 'privacy_notice.reset').execute()).toHaveLength(1)
  })

  test('a text over the limit, a malformed charity number, or no fields at all, is a 400 with a message and changes nothing', async () => {
    const before = (await publicNotice()).html
    const tooLong = await settle(() => noticeAction(args(postRequest('/staff/privacy', { notice: 'x'.repeat(20_001), ...TRUST }, { cookie: adminCookie }))))
    expect(tooLong.status).toBe(400)
    expect(JSON.stringify(tooLong.body)).toContain('20,000 characters or fewer')
    const missing = await settle(() => noticeAction(args(postRequest('/staff/privacy', {}, { cookie: adminCookie }))))
    expect(missing.status).toBe(400)
    const badNumber = await settle(() => noticeAction(args(postRequest('/staff/privacy', { notice: 'x', charityNumber: '<b>1</b>', registeredAddress: '' }, { cookie: adminCookie }))))
    expect(badNumber.status).toBe(400)
    expect(JSON.stringify(badNumber.body)).toContain('Use letters, digits')
    expect((await publicNotice()).html).toBe(before)
  })
})
