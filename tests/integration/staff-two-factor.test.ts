import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { codeFor, decryptSecret } from '#app/modules/staff/two-factor.server.ts'
import { createSignInToken } from '#app/modules/staff/sign-in.server.ts'
import { getStaffSession, requireStaff } from '#app/modules/staff/sessions.server.ts'
import { action as signInAction } from '#app/routes/staff_.sign-in.tsx'
import { action as codeAction, loader as codeLoader, START_AGAIN_MESSAGE } from '#app/routes/staff_.sign-in_.code.tsx'
import { action as verifyAction } from '#app/routes/staff_.sign-in_.verify.tsx'
import { action as twoFactorAction, loader as twoFactorLoader } from '#app/routes/staff_.two-factor.tsx'
import { action as usersAction } from '#app/routes/staff.users.tsx'
import { loader as auditLoader } from '#app/routes/staff.audit.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { cookieFrom, createStaff, getRequest, postRequest, sessionCookieFor, settle, TEST_TOTP_SECRET, testCode } from './staff-fixtures.ts'

const db = getDb()
const PASSWORD = 'correct horse battery staple'
const args = (request: Request) => ({ request, params: {}, context: {} })

function sessionsOf(staffUserId: string) {
  return db.selectFrom('staff_sessions').selectAll().where('staff_user_id', '=', staffUserId).execute()
}

function auditActions(staffUserId: string) {
  return db
    .selectFrom('audit_log')
    .select(['action', 'staff_user_id', 'details'])
    .where('subject_id', '=', staffUserId)
    .orderBy('id')
    .execute()
}

async function passwordStep(email: string, redirectTo = '/staff') {
  return settle(() => signInAction(args(postRequest('/staff/sign-in', { intent: 'password', email, password: PASSWORD, redirectTo }))))
}

async function answer(challengeCookie: string, code: string) {
  return settle(() => codeAction(args(postRequest('/staff/sign-in/code', { code }, { cookie: challengeCookie }))))
}

function sessionCookieIn(headers: Headers) {
  return headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .find((cookie) => cookie.startsWith('sanad_staff='))!
}

describe('signing in with a second factor', () => {
  test('a right password only leads to the code page; the right code then signs in, audited with the factor', async () => {
    const admin = await createStaff('admin', { password: PASSWORD })
    const first = await passwordStep(admin.email, '/staff/audit')
    expect(first.status).toBe(303)
    expect(first.headers.get('Location')).toBe('/staff/sign-in/code')
    const challenge = cookieFrom(first.headers.get('Set-Cookie'))
    expect(challenge).toMatch(/^sanad_staff_code=/)
    expect(await sessionsOf(admin.id)).toHaveLength(0)
    // The challenge cookie is no session.
    expect(await getStaffSession(getRequest('/staff', { cookie: challenge.replace('sanad_staff_code', 'sanad_staff') }))).toBeNull()

    expect((await settle(() => codeLoader(args(getRequest('/staff/sign-in/code', { cookie: challenge }))))).body).toEqual({ open: true })
    const signedIn = await answer(challenge, testCode())
    expect(signedIn.status).toBe(303)
    expect(signedIn.headers.get('Location')).toBe('/staff/audit')
    const session = sessionCookieIn(signedIn.headers)
    expect(await requireStaff(getRequest('/staff', { cookie: session }), 'admin')).toMatchObject({ id: admin.id, secondFactor: true })
    expect(signedIn.headers.getSetCookie().some((cookie) => /^sanad_staff_code=;.*Max-Age=0/.test(cookie))).toBe(true)
    const signedInEntry = (await auditActions(admin.id)).find((entry) => entry.action === 'staff.signed_in')
    expect(signedInEntry?.details).toEqual({ method: 'password', secondFactor: 'totp' })
  })

  test('a sign-in link alone no longer signs an administrator in: after the link, the code', async () => {
    const admin = await createStaff('admin')
    const { token } = await createSignInToken(db, admin.id)
    const linked = await settle(() => verifyAction(args(postRequest('/staff/sign-in/verify', { token }))))
    expect(linked.status).toBe(303)
    expect(linked.headers.get('Location')).toBe('/staff/sign-in/code')
    expect(await sessionsOf(admin.id)).toHaveLength(0)
    const signedIn = await answer(cookieFrom(linked.headers.get('Set-Cookie')), testCode())
    expect(signedIn.status).toBe(303)
    expect(await sessionsOf(admin.id)).toHaveLength(1)
  })

  test('a code is never accepted twice, even within its window', async () => {
    const admin = await createStaff('admin', { password: PASSWORD })
    const code = testCode()
    const first = await answer(cookieFrom((await passwordStep(admin.email)).headers.get('Set-Cookie')), code)
    expect(first.status).toBe(303)
    const challenge = cookieFrom((await passwordStep(admin.email)).headers.get('Set-Cookie'))
    const replayed = await answer(challenge, code)
    expect(replayed.status).toBe(400)
    expect((replayed.body as { fieldError: string }).fieldError).toMatch(/That code did not work/)
    expect(await sessionsOf(admin.id)).toHaveLength(1)
    const stored = await db.selectFrom('staff_users').select('totp_last_step').where('id', '=', admin.id).executeTakeFirstOrThrow()
    expect(Number(stored.totp_last_step)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 30_000) - 1)
    // The next step's code still works (the window allows one step ahead).
    expect((await answer(challenge, testCode(1))).status).toBe(303)
  })

  test('five wrong codes end the sign-in: it starts again from the password', async () => {
    const admin = await createStaff('admin', { password: PASSWORD })
    const challenge = cookieFrom((await passwordStep(admin.email)).headers.get('Set-Cookie'))
    const wrong = testCode() === '000000' ? '111111' : '000000'
    for (let attempt = 0; attempt < 4; attempt += 1) expect((await answer(challenge, wrong)).status).toBe(400)
    const last = await answer(challenge, wrong)
    expect(last.body).toEqual({ startAgain: START_AGAIN_MESSAGE })
    expect((await answer(challenge, testCode())).body).toEqual({ startAgain: START_AGAIN_MESSAGE })
    expect(await sessionsOf(admin.id)).toHaveLength(0)
  })

  test('a member without a second factor signs in with the password alone', async () => {
    const member = await createStaff('staff', { password: PASSWORD })
    const answered = await passwordStep(member.email)
    expect(answered.headers.get('Location')).toBe('/staff')
    expect(await sessionsOf(member.id)).toHaveLength(1)
  })
})

describe('setting up the second factor', () => {
  test('an administrator without one is sent to set it up before anything else, then enrols with a QR drawn inline', async () => {
    const admin = await createStaff('admin', { password: PASSWORD, secondFactor: false })
    const cookie = await sessionCookieFor(admin.id)
    const blocked = await settle(() => auditLoader(args(getRequest('/staff/audit', { cookie }))))
    expect(blocked.status).toBe(303)
    expect(blocked.headers.get('Location')).toBe('/staff/two-factor')

    const page = await settle(() => twoFactorLoader(args(getRequest('/staff/two-factor', { cookie }))))
    expect(page.body).toMatchObject({ required: true, enabled: false, pending: null })
    expect((await settle(() => twoFactorAction(args(postRequest('/staff/two-factor', { intent: 'start' }, { cookie })))))).toMatchObject({ status: 303 })
    const pending = (await settle(() => twoFactorLoader(args(getRequest('/staff/two-factor', { cookie }))))).body as { pending: { secret: string; qrSvg: string } }
    expect(pending.pending.qrSvg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    expect(pending.pending.qrSvg).not.toMatch(/<image|href=|<script/)
    // The secret is stored encrypted: the column does not hold it.
    const row = await db.selectFrom('staff_users').select(['totp_pending_secret']).where('id', '=', admin.id).executeTakeFirstOrThrow()
    expect(row.totp_pending_secret).not.toContain(pending.pending.secret)
    expect(decryptSecret(row.totp_pending_secret!)).toBe(pending.pending.secret)

    const wrong = await settle(() => twoFactorAction(args(postRequest('/staff/two-factor', { intent: 'confirm', code: '12345' }, { cookie }))))
    expect(wrong.status).toBe(400)
    const enrolled = await settle(() =>
      twoFactorAction(args(postRequest('/staff/two-factor', { intent: 'confirm', code: codeFor(pending.pending.secret) }, { cookie }))),
    )
    expect(enrolled.status).toBe(200)
    const { recoveryCodes } = enrolled.body as { recoveryCodes: string[] }
    expect(recoveryCodes).toHaveLength(10)
    expect(new Set(recoveryCodes).size).toBe(10)
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){5}$/)
    // Stored hashed only.
    const stored = await db.selectFrom('staff_recovery_codes').select('code_hash').where('staff_user_id', '=', admin.id).execute()
    expect(stored).toHaveLength(10)
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]!.replaceAll('-', ''))
    const enabled = await db.selectFrom('staff_users').select(['totp_secret', 'totp_enabled_at']).where('id', '=', admin.id).executeTakeFirstOrThrow()
    expect(enabled.totp_enabled_at).not.toBeNull()
    expect(enabled.totp_secret).not.toContain(pending.pending.secret)

    expect((await settle(() => auditLoader(args(getRequest('/staff/audit', { cookie }))))).status).toBe(200)
    expect((await auditActions(admin.id)).map((entry) => entry.action)).toContain('staff.two_factor_enrolled')
  })

  test('a recovery code signs in once, is audited, and cannot be used again', async () => {
    const admin = await createStaff('admin', { password: PASSWORD, secondFactor: false })
    const cookie = await sessionCookieFor(admin.id)
    await settle(() => twoFactorAction(args(postRequest('/staff/two-factor', { intent: 'start' }, { cookie }))))
    const { pending } = (await settle(() => twoFactorLoader(args(getRequest('/staff/two-factor', { cookie }))))).body as { pending: { secret: string } }
    const enrolled = await settle(() => twoFactorAction(args(postRequest('/staff/two-factor', { intent: 'confirm', code: codeFor(pending.secret) }, { cookie }))))
    const [code] = (enrolled.body as { recoveryCodes: string[] }).recoveryCodes

    const typed = ` ${code!.toUpperCase().replaceAll('-', ' ')} `
    const used = await answer(cookieFrom((await passwordStep(admin.email)).headers.get('Set-Cookie')), typed)
    expect(used.status).toBe(303)
    const entry = (await auditActions(admin.id)).find((row) => row.action === 'staff.recovery_code_used')
    expect(entry?.details).toEqual({ remaining: 9 })
    const again = await answer(cookieFrom((await passwordStep(admin.email)).headers.get('Set-Cookie')), code!)
    expect(again.status).toBe(400)
  })
})

describe('an administrator resets another member’s second factor', () => {
  test('the member is signed out and must set it up again; audited with who did it; never one’s own', async () => {
    const admin = await createStaff('admin')
    const target = await createStaff('admin', { password: PASSWORD })
    const adminCookie = await sessionCookieFor(admin.id)
    const targetCookie = await sessionCookieFor(target.id)
    const reset = await settle(() => usersAction(args(postRequest('/staff/users', { intent: 'reset-two-factor', userId: target.id }, { cookie: adminCookie }))))
    expect(reset.status).toBe(303)
    expect(await sessionsOf(target.id)).toHaveLength(0)
    expect(await getStaffSession(getRequest('/staff', { cookie: targetCookie }))).toBeNull()
    const entry = (await auditActions(target.id)).find((row) => row.action === 'staff.two_factor_reset')
    expect(entry).toMatchObject({ staff_user_id: admin.id })
    // Their next sign-in: the password alone, then straight to setting it up.
    const signedIn = await passwordStep(target.email)
    expect(signedIn.headers.get('Location')).toBe('/staff')
    const blocked = await settle(() => auditLoader(args(getRequest('/staff/audit', { cookie: cookieFrom(signedIn.headers.get('Set-Cookie')) }))))
    expect(blocked.headers.get('Location')).toBe('/staff/two-factor')

    const own = await settle(() => usersAction(args(postRequest('/staff/users', { intent: 'reset-two-factor', userId: admin.id }, { cookie: adminCookie }))))
    expect(own.status).toBe(400)
    const still = await db.selectFrom('staff_users').select('totp_enabled_at').where('id', '=', admin.id).executeTakeFirstOrThrow()
    expect(still.totp_enabled_at).not.toBeNull()
  })

  test('the test secret stays what the fixtures say (tests and the demo data work out codes from it)', async () => {
    const admin = await createStaff('admin')
    const row = await db.selectFrom('staff_users').select('totp_secret').where('id', '=', admin.id).executeTakeFirstOrThrow()
    expect(decryptSecret(row.totp_secret!)).toBe(TEST_TOTP_SECRET)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from staff_users where totp_secret like ${`%${TEST_TOTP_SECRET}%`}`.execute(db)
    expect(rows[0]!.n).toBe(0)
  })
})
