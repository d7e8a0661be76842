import { sql } from 'kysely'
import type { StaffRole } from '#db/schema.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { hashPassword } from './passwords.server.ts'
import { hashSecretToken, newSecretToken, signInLinkUrl, signOutEverywhere } from './sessions.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import { resetTwoFactor } from './two-factor.server.ts'

export type UpsertStaffUser = { email: string; role: StaffRole; name?: string; password?: string }

export function findStaffUserByEmail(db: Database | DatabaseTransaction, email: string) {
  return db
    .selectFrom('staff_users')
    .select(['id', 'email', 'name', 'role', 'password_hash', 'disabled_at', 'totp_enabled_at'])
    .where(sql`lower(email)`, '=', normaliseEmail(email))
    .executeTakeFirst()
}

/**
 * Creates a staff member, or changes the role (and the name or password, when given) of the one
 * with that address. A new member without a name is called by the first part of their address.
 */
export async function upsertStaffUser(
  db: Database,
  user: UpsertStaffUser,
): Promise<{ id: string; created: boolean; disabled: boolean }> {
  const passwordHash = user.password === undefined ? undefined : await hashPassword(user.password)
  return db.transaction().execute(async (trx) => {
    const existing = await findStaffUserByEmail(trx, user.email)
    if (existing) {
      await trx
        .updateTable('staff_users')
        .set({
          role: user.role,
          ...(user.name === undefined ? {} : { name: user.name }),
          ...(passwordHash === undefined ? {} : { password_hash: passwordHash }),
          updated_at: sql`now()`,
        })
        .where('id', '=', existing.id)
        .execute()
      await recordAudit(trx, { staffUserId: null, action: 'staff.updated', subjectType: 'staff_user', subjectId: existing.id, details: { role: user.role, passwordChanged: passwordHash !== undefined } })
      return { id: existing.id, created: false, disabled: existing.disabled_at !== null }
    }
    const email = user.email.trim()
    const created = await trx
      .insertInto('staff_users')
      .values({ email, name: user.name ?? email.split('@')[0]!, role: user.role, password_hash: passwordHash ?? null })
      .returning('id')
      .executeTakeFirstOrThrow()
    await recordAudit(trx, { staffUserId: null, action: 'staff.created', subjectType: 'staff_user', subjectId: created.id, details: { role: user.role } })
    return { id: created.id, created: true, disabled: false }
  })
}

/** A disabled member is signed out everywhere and their unused sign-in links stop working. */
export async function disableStaffUser(db: Database, staffUserId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('staff_users').set({ disabled_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', staffUserId).execute()
    await signOutEverywhere(trx, staffUserId)
    await trx.deleteFrom('staff_sign_in_tokens').where('staff_user_id', '=', staffUserId).where('used_at', 'is', null).execute()
    await recordAudit(trx, { staffUserId: null, action: 'staff.disabled', subjectType: 'staff_user', subjectId: staffUserId })
  })
}

// ── Managing staff from the staff area (/staff/users) ───────────────────────────────────────

/** An invitation link lasts longer than a sign-in link: the invited person may not be at their desk. */
export const INVITE_LINK_HOURS = 24

export type StaffUserListItem = {
  id: string
  name: string
  email: string
  role: StaffRole
  disabledAt: Date | null
  createdAt: Date
  lastSignInAt: Date | null
  hasPassword: boolean
  twoFactor: boolean
}

/**
 * Every staff member. The last sign-in is the latest of the audited sign-ins and the sessions
 * still on record (a session started by `staff:create` or a test is not audited).
 */
export async function listStaffUsers(db: Database): Promise<StaffUserListItem[]> {
  const rows = await db
    .selectFrom('staff_users as u')
    .select(['u.id', 'u.name', 'u.email', 'u.role', 'u.disabled_at', 'u.created_at', 'u.password_hash', 'u.totp_enabled_at'])
    .select(
      sql<Date | null>`greatest(
        (select max(a.created_at) from audit_log a where a.staff_user_id = u.id and a.action = 'staff.signed_in'),
        (select max(s.created_at) from staff_sessions s where s.staff_user_id = u.id))`.as('last_sign_in_at'),
    )
    .orderBy(sql`u.disabled_at is not null`)
    .orderBy('u.name')
    .orderBy('u.email')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    lastSignInAt: row.last_sign_in_at === null ? null : new Date(row.last_sign_in_at),
    hasPassword: row.password_hash !== null,
    twoFactor: row.totp_enabled_at !== null,
  }))
}

export type StaffChangeResult = { ok: true; id: string } | { ok: false; fieldErrors: Record<string, string> }

class StaffChangeRefused extends Error {
  constructor(readonly fieldErrors: Record<string, string>) {
    super('refused')
  }
}

async function refusable(db: Database, work: (trx: DatabaseTransaction) => Promise<string>): Promise<StaffChangeResult> {
  try {
    return { ok: true, id: await db.transaction().execute(work) }
  } catch (error) {
    if (error instanceof StaffChangeRefused) return { ok: false, fieldErrors: error.fieldErrors }
    throw error
  }
}

const EMAIL_TAKEN = 'A staff member already has this email address'

/**
 * Creates a staff member with no password and emails them a one-time sign-in link, in one
 * transaction: there is never an invited person without their email, nor an email for nobody.
 */
export async function inviteStaffUser(
  db: Database,
  actorId: string,
  invite: { name: string; email: string; role: StaffRole },
): Promise<StaffChangeResult> {
  try {
    return await refusable(db, async (trx) => {
      if (await findStaffUserByEmail(trx, invite.email)) throw new StaffChangeRefused({ email: EMAIL_TAKEN })
      const created = await trx
        .insertInto('staff_users')
        .values({ email: invite.email.trim(), name: invite.name, role: invite.role, password_hash: null })
        .returning('id')
        .executeTakeFirstOrThrow()
      const token = newSecretToken()
      await trx
        .insertInto('staff_sign_in_tokens')
        .values({ token_hash: hashSecretToken(token), staff_user_id: created.id, expires_at: sql<Date>`now() + make_interval(hours => ${INVITE_LINK_HOURS})` })
        .execute()
      await enqueueEmail(trx, {
        template: 'staff-sign-in',
        to: invite.email.trim(),
        props: { organisation: await getEmailOrganisation(trx), name: invite.name, signInUrl: signInLinkUrl(token), expiresInMinutes: INVITE_LINK_HOURS * 60 },
        idempotencyKey: `staff-invite/${created.id}`,
      })
      await recordAudit(trx, { staffUserId: actorId, action: 'staff.invite', subjectType: 'staff_user', subjectId: created.id, details: { role: invite.role } })
      return created.id
    })
  } catch (error) {
    // Two invitations to one address at once: the unique index decides.
    if (isUniqueViolation(error)) return { ok: false, fieldErrors: { email: EMAIL_TAKEN } }
    throw error
  }
}

/**
 * Locks the active administrators (in id order, so two changes never deadlock), then the acting
 * and the changed member, and says whether the change would leave no active administrator.
 * Checked inside the transaction, so two administrators removing each other at once cannot both win.
 */
async function lockForStaffChange(trx: DatabaseTransaction, actorId: string, targetId: string) {
  const admins = await trx
    .selectFrom('staff_users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute()
  const actorIsActiveAdmin = admins.some((admin) => admin.id === actorId)
  if (!actorIsActiveAdmin) throw new StaffChangeRefused({ form: 'Only an active administrator can change staff accounts' })
  const target = await trx.selectFrom('staff_users').select(['id', 'role', 'disabled_at']).where('id', '=', targetId).forUpdate().executeTakeFirst()
  if (!target) throw new StaffChangeRefused({ form: 'That staff member no longer exists' })
  const targetIsActiveAdmin = admins.some((admin) => admin.id === targetId)
  return { target, lastActiveAdmin: targetIsActiveAdmin && admins.length <= 1 }
}

async function auditStaffChange(trx: DatabaseTransaction, actorId: string, action: string, targetId: string, details: Record<string, unknown> = {}) {
  await recordAudit(trx, { staffUserId: actorId, action, subjectType: 'staff_user', subjectId: targetId, details })
}

export async function changeStaffRole(db: Database, actorId: string, targetId: string, role: StaffRole): Promise<StaffChangeResult> {
  return refusable(db, async (trx) => {
    const { target, lastActiveAdmin } = await lockForStaffChange(trx, actorId, targetId)
    if (target.role === role) return targetId
    if (target.role === 'admin') {
      if (targetId === actorId) throw new StaffChangeRefused({ role: 'You cannot take away your own administrator role. Ask another administrator' })
      if (lastActiveAdmin) throw new StaffChangeRefused({ role: 'This is the last active administrator: make someone else an administrator first' })
    }
    await trx.updateTable('staff_users').set({ role, updated_at: sql`now()` }).where('id', '=', targetId).execute()
    await auditStaffChange(trx, actorId, 'staff.role', targetId, { from: target.role, to: role })
    return targetId
  })
}

/** Disabling ends every session of the member at once and spends their unused sign-in links. */
export async function disableStaffMember(db: Database, actorId: string, targetId: string): Promise<StaffChangeResult> {
  return refusable(db, async (trx) => {
    const { target, lastActiveAdmin } = await lockForStaffChange(trx, actorId, targetId)
    if (targetId === actorId) throw new StaffChangeRefused({ disable: 'You cannot disable your own account. Ask another administrator' })
    if (lastActiveAdmin) throw new StaffChangeRefused({ disable: 'This is the last active administrator and cannot be disabled' })
    if (target.disabled_at !== null) return targetId
    await trx.updateTable('staff_users').set({ disabled_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', targetId).execute()
    const sessionsEnded = await signOutEverywhere(trx, targetId)
    await trx.deleteFrom('staff_sign_in_tokens').where('staff_user_id', '=', targetId).where('used_at', 'is', null).execute()
    await auditStaffChange(trx, actorId, 'staff.disable', targetId, { sessionsEnded })
    return targetId
  })
}

export async function enableStaffMember(db: Database, actorId: string, targetId: string): Promise<StaffChangeResult> {
  return refusable(db, async (trx) => {
    const { target } = await lockForStaffChange(trx, actorId, targetId)
    if (target.disabled_at === null) return targetId
    await trx.updateTable('staff_users').set({ disabled_at: null, updated_at: sql`now()` }).where('id', '=', targetId).execute()
    await auditStaffChange(trx, actorId, 'staff.enable', targetId)
    return targetId
  })
}

/**
 * Another administrator turns off a member's two-step sign-in (a lost phone, no recovery codes
 * left): they are signed out and set it up again at their next sign-in. Never one's own: the
 * point is that a second person checks who is asking.
 */
export async function resetStaffTwoFactor(db: Database, actorId: string, targetId: string): Promise<StaffChangeResult> {
  return refusable(db, async (trx) => {
    await lockForStaffChange(trx, actorId, targetId)
    if (targetId === actorId) throw new StaffChangeRefused({ twoFactor: 'You cannot reset your own two-step sign-in. Ask another administrator' })
    await resetTwoFactor(trx, actorId, targetId)
    return targetId
  })
}
