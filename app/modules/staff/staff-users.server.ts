import { sql } from 'kysely'
import type { StaffRole } from '#db/schema.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { hashPassword } from './passwords.server.ts'
import { signOutEverywhere } from './sessions.server.ts'

export type UpsertStaffUser = { email: string; role: StaffRole; name?: string; password?: string }

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function findStaffUserByEmail(db: Database | DatabaseTransaction, email: string) {
  return db
    .selectFrom('staff_users')
    .select(['id', 'email', 'name', 'role', 'password_hash', 'disabled_at'])
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
      await trx
        .insertInto('audit_log')
        .values({ action: 'staff.updated', subject_type: 'staff_user', subject_id: existing.id, details: JSON.stringify({ role: user.role, passwordChanged: passwordHash !== undefined }) })
        .execute()
      return { id: existing.id, created: false, disabled: existing.disabled_at !== null }
    }
    const email = user.email.trim()
    const created = await trx
      .insertInto('staff_users')
      .values({ email, name: user.name ?? email.split('@')[0]!, role: user.role, password_hash: passwordHash ?? null })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx
      .insertInto('audit_log')
      .values({ action: 'staff.created', subject_type: 'staff_user', subject_id: created.id, details: JSON.stringify({ role: user.role }) })
      .execute()
    return { id: created.id, created: true, disabled: false }
  })
}

/** A disabled member is signed out everywhere and their unused sign-in links stop working. */
export async function disableStaffUser(db: Database, staffUserId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('staff_users').set({ disabled_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', staffUserId).execute()
    await signOutEverywhere(trx, staffUserId)
    await trx.deleteFrom('staff_sign_in_tokens').where('staff_user_id', '=', staffUserId).where('used_at', 'is', null).execute()
    await trx.insertInto('audit_log').values({ action: 'staff.disabled', subject_type: 'staff_user', subject_id: staffUserId }).execute()
  })
}
