import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { consumeSignInToken } from '#app/modules/staff/sign-in.server.ts'
import { changeStaffRole, disableStaffMember } from '#app/modules/staff/staff-users.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { loader as layoutLoader } from '#app/routes/staff.tsx'
import { loader as totalsLoader } from '#app/routes/staff._index.tsx'
import { loader as auditLoader } from '#app/routes/staff.audit.tsx'
import { action as usersAction, loader as usersLoader } from '#app/routes/staff.users.tsx'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

const db = getDb()
const args = (request: Request) => ({ request, params: {}, context: {} })

let admin: { id: string; email: string }
let adminCookie: string

beforeAll(async () => {
  admin = await createStaff('admin')
  adminCookie = await sessionCookieFor(admin.id)
})

type AuditData = Awaited<ReturnType<typeof auditLoader>> extends infer T ? Extract<T, { entries: unknown }> : never
type UsersData = Awaited<ReturnType<typeof usersLoader>>
type MemberErrors = { intent: 'member'; userId: string; fieldErrors: Record<string, string> }
type InviteErrors = { intent: 'invite'; invite: { error?: Record<string, string[] | null> } }

async function audit(query = '', cookie = adminCookie) {
  return settle(() => auditLoader(args(getRequest(`/staff/audit${query}`, { cookie }))))
}

async function usersPost(fields: Record<string, string>, cookie = adminCookie) {
  return settle(() => usersAction(args(postRequest('/staff/users', fields, { cookie }))))
}

async function auditCount() {
  return Number((await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(db)).rows[0]!.n)
}

describe('roles', () => {
  test('staff get 403 on /staff/audit and /staff/users; admins get the pages', async () => {
    const staff = await createStaff('staff')
    const cookie = await sessionCookieFor(staff.id)
    expect((await audit('', cookie)).status).toBe(403)
    expect((await settle(() => usersLoader(args(getRequest('/staff/users', { cookie })))))).toMatchObject({ status: 403 })
    expect((await usersPost({ intent: 'disable', userId: admin.id }, cookie)).status).toBe(403)
    expect((await audit()).status).toBe(200)
    expect((await settle(() => usersLoader(args(getRequest('/staff/users', { cookie: adminCookie })))))).toMatchObject({ status: 200 })
  })

  test('the layout tells admins, and only admins, to show the admin links', async () => {
    const staff = await createStaff('staff')
    const asStaff = (await layoutLoader(args(getRequest('/staff', { cookie: await sessionCookieFor(staff.id) })))) as { staff: { isAdmin: boolean } }
    const asAdmin = (await layoutLoader(args(getRequest('/staff', { cookie: adminCookie })))) as { staff: { isAdmin: boolean } }
    expect(asStaff.staff.isAdmin).toBe(false)
    expect(asAdmin.staff.isAdmin).toBe(true)
  })
})

describe('the audit log', () => {
  test('pagination returns every row exactly once, newest first, even when rows share a timestamp', async () => {
    // 120 rows in one statement share one now(): only the id tells them apart.
    await sql`insert into audit_log (staff_user_id, action, subject_type, subject_id, details)
      select ${admin.id}::uuid, 'test.page', 'thing', g::text, jsonb_build_object('n', g) from generate_series(1, 120) g`.execute(db)
    const expected = await db.selectFrom('audit_log').select('id').where('action', 'like', 'test.%').orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    const seen: number[] = []
    let query = '?action=test.'
    for (let page = 0; page < 10; page += 1) {
      const answer = await audit(query)
      expect(answer.status).toBe(200)
      const body = answer.body as AuditData
      seen.push(...body.entries.map((entry) => entry.id))
      if (!body.nextHref) break
      query = body.nextHref.slice('/staff/audit'.length)
    }
    expect(seen).toEqual(expected.map((row) => Number(row.id)))
    expect(new Set(seen).size).toBe(120)
  })

  test('filters by action prefix, staff member and date range, and shows details as key: value', async () => {
    const other = await createStaff('staff')
    await db
      .insertInto('audit_log')
      .values([
        { staff_user_id: other.id, action: 'filter.alpha', subject_type: 'event', subject_id: 'x', details: JSON.stringify({ from: 1, to: 2, note: { deep: true } }), created_at: new Date('2026-01-10T12:00:00Z') },
        { staff_user_id: other.id, action: 'filter.beta', details: JSON.stringify({}), created_at: new Date('2026-02-10T12:00:00Z') },
        { staff_user_id: admin.id, action: 'filter.alpha', details: JSON.stringify({}), created_at: new Date('2026-01-11T12:00:00Z') },
      ])
      .execute()
    const ids = async (query: string) => ((await audit(query)).body as AuditData).entries.map((entry) => `${entry.action}@${entry.createdAt.slice(0, 10)}`)
    expect(await ids('?action=filter.')).toEqual(['filter.beta@2026-02-10', 'filter.alpha@2026-01-11', 'filter.alpha@2026-01-10'])
    expect(await ids(`?action=filter.&staff=${other.id}`)).toEqual(['filter.beta@2026-02-10', 'filter.alpha@2026-01-10'])
    expect(await ids('?action=filter.&from=2026-01-11&to=2026-01-31')).toEqual(['filter.alpha@2026-01-11'])
    expect(await ids('?action=filter.a')).toHaveLength(2)
    const [entry] = ((await audit(`?action=filter.alpha&staff=${other.id}`)).body as AuditData).entries
    // jsonb keeps its own key order, so the order is not asserted.
    expect(entry?.who).toBe('Test staff')
    expect(entry?.details).toHaveLength(3)
    expect(entry?.details).toEqual(expect.arrayContaining([{ key: 'from', value: '1' }, { key: 'to', value: '2' }, { key: 'note', value: '{"deep":true}' }]))
  })

  test('bad filters answer 400 with the field named; reading the log writes nothing to it', async () => {
    const before = await auditCount()
    const bad = await audit('?from=2026-02-30&staff=someone&action=DROP%20TABLE')
    expect(bad.status).toBe(400)
    expect(Object.keys((bad.body as { fieldErrors: Record<string, string> }).fieldErrors).sort()).toEqual(['action', 'from', 'staff'])
    expect((await audit('?after=abc')).status).toBe(400)
    await audit()
    await audit('?action=staff.')
    expect(await auditCount()).toBe(before)
  })
})

describe('staff users', () => {
  test('the list shows name, email, role, last sign-in and whether disabled', async () => {
    const answer = await settle(() => usersLoader(args(getRequest('/staff/users', { cookie: adminCookie }))))
    const body = answer.body as UsersData
    const me = body.users.find((user) => user.id === admin.id)
    expect(me).toMatchObject({ email: admin.email, role: 'admin', disabled: false, lastSignIn: expect.any(String) })
  })

  test('inviting creates a user with no password and emails a one-time sign-in link that works', async () => {
    const email = `invited-${Date.now()}@example.org`
    const answer = await usersPost({ intent: 'invite', name: 'Invited Person', email, role: 'viewer' })
    expect(answer.status).toBe(303)
    const user = await db.selectFrom('staff_users').selectAll().where('email', '=', email).executeTakeFirstOrThrow()
    expect(user).toMatchObject({ name: 'Invited Person', role: 'viewer', password_hash: null, disabled_at: null })
    const outbox = await db.selectFrom('email_outbox').selectAll().where('to_address', '=', email).orderBy('created_at').orderBy('id').execute()
    expect(outbox).toHaveLength(1)
    expect(outbox[0]!.template).toBe('staff-sign-in')
    const link = String((outbox[0]!.props as { signInUrl: string }).signInUrl)
    const token = new URL(link).searchParams.get('token')!
    const signedIn = await consumeSignInToken(db, token, getRequest('/staff/sign-in/verify'))
    expect(signedIn).toMatchObject({ ok: true, staffUserId: user.id })
    expect((await consumeSignInToken(db, token, getRequest('/staff/sign-in/verify'))).ok).toBe(false)
    const rows = await db.selectFrom('audit_log').selectAll().where('action', '=', 'staff.invite').where('subject_id', '=', user.id).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.staff_user_id).toBe(admin.id)
  })

  test('an email already in use (in any case) and bad input are field errors, and nothing is written', async () => {
    const before = { audit: await auditCount(), users: (await db.selectFrom('staff_users').select('id').execute()).length }
    const taken = await usersPost({ intent: 'invite', name: 'Again', email: admin.email.toUpperCase(), role: 'staff' })
    expect(taken.status).toBe(400)
    expect((taken.body as InviteErrors).invite.error?.email?.[0]).toMatch(/already has this email/)
    const bad = await usersPost({ intent: 'invite', name: '', email: 'not-an-email', role: 'owner' })
    expect(bad.status).toBe(400)
    expect(Object.keys((bad.body as InviteErrors).invite.error ?? {}).sort()).toEqual(['email', 'name', 'role'])
    expect({ audit: await auditCount(), users: (await db.selectFrom('staff_users').select('id').execute()).length }).toEqual(before)
  })

  test('changing a role takes effect and is audited', async () => {
    const member = await createStaff('viewer')
    expect((await usersPost({ intent: 'role', userId: member.id, role: 'staff' })).status).toBe(303)
    expect((await db.selectFrom('staff_users').select('role').where('id', '=', member.id).executeTakeFirstOrThrow()).role).toBe('staff')
    const row = await db.selectFrom('audit_log').selectAll().where('action', '=', 'staff.role').where('subject_id', '=', member.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ staff_user_id: admin.id, details: { from: 'viewer', to: 'staff' } })
  })

  test('disabling kills the user’s sessions at once: their next request goes to sign in; enabling lets them back', async () => {
    const member = await createStaff('staff')
    const cookie = await sessionCookieFor(member.id)
    expect((await settle(() => totalsLoader(args(getRequest('/staff', { cookie }))))).status).toBe(200)

    expect((await usersPost({ intent: 'disable', userId: member.id })).status).toBe(303)
    expect(await db.selectFrom('staff_sessions').select('token_hash').where('staff_user_id', '=', member.id).execute()).toEqual([])
    const next = await settle(() => totalsLoader(args(getRequest('/staff', { cookie }))))
    expect(next.status).toBe(303)
    expect(next.headers.get('Location')).toMatch(/^\/staff\/sign-in/)
    expect((await db.selectFrom('staff_users').select('disabled_at').where('id', '=', member.id).executeTakeFirstOrThrow()).disabled_at).not.toBeNull()

    expect((await usersPost({ intent: 'enable', userId: member.id })).status).toBe(303)
    expect((await db.selectFrom('staff_users').select('disabled_at').where('id', '=', member.id).executeTakeFirstOrThrow()).disabled_at).toBeNull()
    const actions = (await db.selectFrom('audit_log').select('action').where('subject_id', '=', member.id).where('action', 'in', ['staff.disable', 'staff.enable']).orderBy('id').execute()).map((row) => row.action)
    expect(actions).toEqual(['staff.disable', 'staff.enable'])
  })

  test('an admin cannot disable or demote themselves (field errors, nothing written)', async () => {
    const before = await auditCount()
    const disable = await usersPost({ intent: 'disable', userId: admin.id })
    expect(disable.status).toBe(400)
    expect(disable.body as MemberErrors).toMatchObject({ userId: admin.id, fieldErrors: { disable: expect.stringMatching(/your own account/) } })
    const demote = await usersPost({ intent: 'role', userId: admin.id, role: 'staff' })
    expect(demote.status).toBe(400)
    expect((demote.body as MemberErrors).fieldErrors.role).toMatch(/your own administrator role/)
    expect(await db.selectFrom('staff_users').select(['role', 'disabled_at']).where('id', '=', admin.id).executeTakeFirstOrThrow()).toEqual({ role: 'admin', disabled_at: null })
    expect(await auditCount()).toBe(before)
  })

  test('the last active admin can never be disabled or demoted, even by two admins acting at once', async () => {
    // Leave exactly two active admins: one and two.
    const one = await createStaff('admin')
    const two = await createStaff('admin')
    await db.updateTable('staff_users').set({ disabled_at: new Date() }).where('role', '=', 'admin').where('id', 'not in', [one.id, two.id]).execute()
    try {
      // Each disables the other at the same moment: the row locks let only one win.
      const results = await Promise.all([disableStaffMember(db, one.id, two.id), disableStaffMember(db, two.id, one.id)])
      expect(results.filter((result) => result.ok)).toHaveLength(1)
      const active = await db.selectFrom('staff_users').select('id').where('role', '=', 'admin').where('disabled_at', 'is', null).execute()
      expect(active).toHaveLength(1)
      const survivor = active[0]!.id
      const refused = results.find((result) => !result.ok)
      expect(refused).toMatchObject({ ok: false, fieldErrors: expect.any(Object) })
      // The survivor is now the last admin: the one disabled cannot act any more, and the survivor cannot remove themselves.
      const loser = survivor === one.id ? two.id : one.id
      expect(await disableStaffMember(db, loser, survivor)).toMatchObject({ ok: false })
      expect(await changeStaffRole(db, loser, survivor, 'viewer')).toMatchObject({ ok: false })
      expect(await disableStaffMember(db, survivor, survivor)).toMatchObject({ ok: false })
      expect(await changeStaffRole(db, survivor, survivor, 'staff')).toMatchObject({ ok: false })
      expect(await db.selectFrom('staff_users').select(['role', 'disabled_at']).where('id', '=', survivor).executeTakeFirstOrThrow()).toEqual({ role: 'admin', disabled_at: null })
    } finally {
      // The file's own admin signs in again for any later test.
      await db.updateTable('staff_users').set({ disabled_at: null }).where('id', '=', admin.id).execute()
    }
  })
})
