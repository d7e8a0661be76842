import type { Kysely } from 'kysely'
import { hashPassword } from '#app/modules/staff/passwords.server.ts'
import { enableTotpWithSecret } from '#app/modules/staff/two-factor.server.ts'
import type { DB } from '#db/schema.ts'

export const DEMO_ADMIN_EMAIL = 'admin@example.org'
/** Development only: printed in the README, so it must never reach a real server. */
export const DEMO_ADMIN_PASSWORD = 'sanad-demo-admin'
/**
 * The demo administrator's TOTP secret (administrators must have a second factor), development
 * only like the password: add it to an authenticator app by hand, or let the tests work out codes.
 */
export const DEMO_ADMIN_TOTP_SECRET = 'JBSWY3DPEHPK3PXPSANADDEMOADMIN23'

/**
 * A demo administrator for a laptop. Skipped in production, where a known password would be an
 * open door; real staff are made with `npm run staff:create`.
 */
export async function seedDemoStaff(db: Kysely<DB>): Promise<void> {
  if (process.env.NODE_ENV === 'production') return
  const admin = await db
    .insertInto('staff_users')
    .values({ email: DEMO_ADMIN_EMAIL, name: 'Demo Admin', role: 'admin', password_hash: await hashPassword(DEMO_ADMIN_PASSWORD) })
    .returning('id')
    .executeTakeFirstOrThrow()
  await enableTotpWithSecret(db, admin.id, DEMO_ADMIN_TOTP_SECRET)
}
