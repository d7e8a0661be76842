import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { checkRateLimit, type RateLimitResult } from '#app/utils/rate-limit.server.ts'
import { verifyPassword } from './passwords.server.ts'
import { hashSecretToken, newSecretToken, signInLinkUrl, startStaffSession } from './sessions.server.ts'
import { findStaffUserByEmail } from './staff-users.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { safeRedirect } from '#app/utils/safe-redirect.ts'

export const SIGN_IN_LINK_MINUTES = 15

export type SignInResult = { ok: true; staffUserId: string; setCookie: string } | { ok: false }

/**
 * Both an address and an email are limited: the first stops one machine trying many accounts,
 * the second many machines trying one account. Every attempt counts, right or wrong, so the limit
 * cannot be used to learn which passwords were right.
 */
export async function consumeSignInRateLimits(
  request: Request,
  email: string,
  kind: 'password' | 'link',
): Promise<RateLimitResult> {
  const byIp = await checkRateLimit(`staff-${kind}-ip`, clientIpFromRequest(request))
  const byEmail = await checkRateLimit(`staff-${kind}-email`, normaliseEmail(email))
  if (!byIp.allowed) return byIp
  return byEmail
}

async function audit(db: Database | DatabaseTransaction, staffUserId: string, action: string, details: Record<string, unknown> = {}) {
  await recordAudit(db, { staffUserId, action, subjectType: 'staff_user', subjectId: staffUserId, details })
}

/** Wrong address, wrong password, no password set and disabled all look the same from outside. */
export async function signInWithPassword(db: Database, email: string, password: string, request: Request): Promise<SignInResult> {
  const user = await findStaffUserByEmail(db, email)
  const passwordIsRight = await verifyPassword(user?.password_hash, password)
  if (!user || !passwordIsRight || user.disabled_at !== null) return { ok: false }
  return db.transaction().execute(async (trx) => {
    const setCookie = await startStaffSession(trx, user.id, request)
    await audit(trx, user.id, 'staff.signed_in', { method: 'password' })
    return { ok: true as const, staffUserId: user.id, setCookie }
  })
}

/**
 * A one-time link; only the token's hash is kept, so the database alone cannot sign anyone in.
 * It revokes the user's older unused links: only the latest email can sign in, so a link left in an
 * old email, a forwarded one or one read over someone's shoulder stops working as soon as a new one
 * is asked for. The user's row is locked first so links asked for at the same moment (each in its
 * own transaction) leave one valid, not several.
 */
export async function createSignInToken(db: Database | DatabaseTransaction, staffUserId: string) {
  const token = newSecretToken()
  const tokenHash = hashSecretToken(token)
  await db.selectFrom('staff_users').select('id').where('id', '=', staffUserId).forUpdate().execute()
  // Spent links stay, as the record of a sign-in; unused ones are no use to anyone once revoked.
  await db.deleteFrom('staff_sign_in_tokens').where('staff_user_id', '=', staffUserId).where('used_at', 'is', null).execute()
  await db
    .insertInto('staff_sign_in_tokens')
    .values({ token_hash: tokenHash, staff_user_id: staffUserId, expires_at: sql<Date>`now() + make_interval(mins => ${SIGN_IN_LINK_MINUTES})` })
    .execute()
  return { token, tokenHash, url: signInLinkUrl(token) }
}

/**
 * Emails a sign-in link when the address belongs to an active staff member, and quietly does
 * nothing otherwise: the caller gives the same answer either way. The token and its email are
 * written in one transaction, so there is never a link nobody was sent, nor an email with a link
 * that does not exist.
 */
export async function requestSignInLink(db: Database, email: string): Promise<{ sent: boolean }> {
  const user = await findStaffUserByEmail(db, email)
  if (!user || user.disabled_at !== null) return { sent: false }
  await sendSignInLink(db, user)
  return { sent: true }
}

export async function sendSignInLink(db: Database, user: { id: string; email: string; name: string }) {
  await db.transaction().execute(async (trx) => {
    const { url, tokenHash } = await createSignInToken(trx, user.id)
    await enqueueEmail(trx, {
      template: 'staff-sign-in',
      to: user.email,
      props: { organisation: await getEmailOrganisation(trx), name: user.name, signInUrl: url, expiresInMinutes: SIGN_IN_LINK_MINUTES },
      idempotencyKey: `staff-sign-in/${tokenHash.slice(0, 32)}`,
    })
    await audit(trx, user.id, 'staff.sign_in_link_sent')
  })
}

/**
 * Uses up a sign-in link and starts a session. One conditional update both checks and spends the
 * token, so two clicks racing each other cannot both succeed.
 */
export async function consumeSignInToken(db: Database, token: string, request: Request): Promise<SignInResult> {
  return db.transaction().execute(async (trx) => {
    const used = await trx
      .updateTable('staff_sign_in_tokens')
      .set({ used_at: sql`now()` })
      .where('token_hash', '=', hashSecretToken(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .returning('staff_user_id')
      .executeTakeFirst()
    if (!used) return { ok: false as const }
    const user = await trx
      .selectFrom('staff_users')
      .select('id')
      .where('id', '=', used.staff_user_id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst()
    // The token stays spent even when its user has since been disabled.
    if (!user) return { ok: false as const }
    const setCookie = await startStaffSession(trx, user.id, request)
    await audit(trx, user.id, 'staff.signed_in', { method: 'link' })
    return { ok: true as const, staffUserId: user.id, setCookie }
  })
}

/** A path inside the staff area to return to after signing in (not a sign-in page); else /staff. */
export function safeStaffRedirect(target: string | null | undefined): string {
  const path = safeRedirect(target, '/staff', { within: '/staff' })
  return path.startsWith('/staff/sign-') ? '/staff' : path
}
