import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { checkRateLimit, refundRateLimit } from '#app/utils/rate-limit.server.ts'
import { verifyPassword } from './passwords.server.ts'
import {
  challengeCookie,
  CHALLENGE_MINUTES,
  hashSecretToken,
  newSecretToken,
  signInLinkUrl,
  startStaffSession,
} from './sessions.server.ts'
import { clearPasswordFailures, passwordWaitSeconds, recordPasswordFailure } from './sign-in-throttle.server.ts'
import { findStaffUserByEmail } from './staff-users.server.ts'
import { verifySecondFactor } from './two-factor.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { safeRedirect } from '#app/utils/safe-redirect.ts'

export const SIGN_IN_LINK_MINUTES = 15
/** Wrong codes one sign-in may try before it has to start again from the password or link. */
export const CODE_ATTEMPTS = 5

/**
 * `needsCode`: the first step passed and `setCookie` holds the challenge for the second factor,
 * not a session (docs/decisions/020).
 */
export type SignInResult =
  | { ok: true; staffUserId: string; setCookie: string; needsCode: boolean }
  | { ok: false; refused?: { reason: 'slow-down' | 'too-many'; retryAfterSeconds: number } }

async function audit(db: Database | DatabaseTransaction, staffUserId: string, action: string, details: Record<string, unknown> = {}) {
  await recordAudit(db, { staffUserId, action, subjectType: 'staff_user', subjectId: staffUserId, details })
}

/**
 * The first step passed: a member with a second factor gets a challenge to answer with a code,
 * anyone else a session. A challenge is one row (its token's hash) and a cookie.
 */
async function afterFirstStep(
  trx: DatabaseTransaction,
  user: { id: string; totp_enabled_at: Date | null },
  method: 'password' | 'link',
  request: Request,
  redirectTo: string,
): Promise<SignInResult> {
  if (user.totp_enabled_at !== null) {
    const token = newSecretToken()
    await trx
      .insertInto('staff_sign_in_challenges')
      .values({
        token_hash: hashSecretToken(token),
        staff_user_id: user.id,
        method,
        redirect_to: safeStaffRedirect(redirectTo),
        expires_at: sql<Date>`now() + make_interval(mins => ${CHALLENGE_MINUTES})`,
      })
      .execute()
    return { ok: true, staffUserId: user.id, setCookie: challengeCookie(token), needsCode: true }
  }
  const setCookie = await startStaffSession(trx, user.id, request)
  await audit(trx, user.id, 'staff.signed_in', { method })
  return { ok: true, staffUserId: user.id, setCookie, needsCode: false }
}

/**
 * Wrong address, wrong password, no password set and disabled all look the same from outside.
 *
 * No lockout (docs/decisions/020): wrong passwords slow down only the address that typed them, at
 * that account (`sign-in-throttle`); a generous limit per address stops one machine spraying many
 * accounts. Only failures count: a right password gives back its point and clears its count.
 */
export async function signInWithPassword(
  db: Database,
  email: string,
  password: string,
  request: Request,
  redirectTo = '/staff',
): Promise<SignInResult> {
  const clientIp = clientIpFromRequest(request)
  const wait = await passwordWaitSeconds(db, email, clientIp)
  if (wait > 0) return { ok: false, refused: { reason: 'slow-down', retryAfterSeconds: wait } }
  const byAddress = await checkRateLimit('staff-password-ip', clientIp)
  if (!byAddress.allowed) return { ok: false, refused: { reason: 'too-many', retryAfterSeconds: byAddress.retryAfterSeconds } }

  const user = await findStaffUserByEmail(db, email)
  const passwordIsRight = await verifyPassword(user?.password_hash, password)
  if (!user || !passwordIsRight || user.disabled_at !== null) {
    await recordPasswordFailure(db, email, clientIp)
    return { ok: false }
  }
  await refundRateLimit('staff-password-ip', clientIp)
  return db.transaction().execute(async (trx) => {
    await clearPasswordFailures(trx, email, clientIp)
    return afterFirstStep(trx, user, 'password', request, redirectTo)
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

export const SEND_SIGN_IN_LINK_TASK = 'send_staff_sign_in_link'

/**
 * What the sign-in form does when a link is asked for: the same one job, whoever the address
 * belongs to. Whether it is a staff member's is decided later, by the worker
 * (`sendRequestedSignInLink`), so the answer takes as long for a stranger as for staff and does
 * not say who works here (docs/decisions/020). The address waits in the job only until it runs.
 */
export async function requestSignInLink(db: Database, email: string): Promise<void> {
  await addJob(db, SEND_SIGN_IN_LINK_TASK, { email: normaliseEmail(email) }, { maxAttempts: 5 })
}

/**
 * The worker's half: emails a sign-in link when the address belongs to an active staff member,
 * at most one every `STAFF_SIGN_IN_LINK_EMAIL_MINUTES` per member (asking again in between sends
 * nothing, and the form said the same either way), and quietly does nothing otherwise. The
 * claim on the member's row, the token and its email are one transaction.
 */
export async function sendRequestedSignInLink(db: Database, email: string): Promise<{ sent: boolean }> {
  const user = await findStaffUserByEmail(db, email)
  if (!user || user.disabled_at !== null) return { sent: false }
  const minutes = getEnv().STAFF_SIGN_IN_LINK_EMAIL_MINUTES
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('staff_users')
      .set({ sign_in_link_sent_at: sql`now()` })
      .where('id', '=', user.id)
      .where((where) =>
        where.or([where('sign_in_link_sent_at', 'is', null), where('sign_in_link_sent_at', '<=', sql<Date>`now() - make_interval(mins => ${minutes})`)]),
      )
      .returning('id')
      .executeTakeFirst()
    if (!claimed) return { sent: false }
    await emailSignInLink(trx, user)
    return { sent: true }
  })
}

/** Emails a sign-in link now (`npm run staff:create`), whatever was sent before. */
export async function sendSignInLink(db: Database, user: { id: string; email: string; name: string }) {
  await db.transaction().execute((trx) => emailSignInLink(trx, user))
}

async function emailSignInLink(trx: DatabaseTransaction, user: { id: string; email: string; name: string }) {
  const { url, tokenHash } = await createSignInToken(trx, user.id)
  await enqueueEmail(trx, {
    template: 'staff-sign-in',
    to: user.email,
    props: { organisation: await getEmailOrganisation(trx), name: user.name, signInUrl: url, expiresInMinutes: SIGN_IN_LINK_MINUTES },
    idempotencyKey: `staff-sign-in/${tokenHash.slice(0, 32)}`,
  })
  await audit(trx, user.id, 'staff.sign_in_link_sent')
}

/**
 * Uses up a sign-in link: a session, or for a member with a second factor a challenge to answer
 * with a code (a link alone never signs them in). One conditional update both checks and spends
 * the token, so two clicks racing each other cannot both succeed.
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
      .select(['id', 'totp_enabled_at'])
      .where('id', '=', used.staff_user_id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst()
    // The token stays spent even when its user has since been disabled.
    if (!user) return { ok: false as const }
    return afterFirstStep(trx, user, 'link', request, '/staff')
  })
}

export type SecondFactorResult =
  | { outcome: 'signed-in'; staffUserId: string; setCookie: string; redirectTo: string; recoveryCodesLeft?: number }
  | { outcome: 'wrong-code'; attemptsLeft: number }
  | { outcome: 'start-again' }

/** Whether the browser holds a sign-in waiting for its code (the code page shows the form or says start again). */
export async function hasOpenChallenge(db: Database, token: string | null): Promise<boolean> {
  if (!token) return false
  const row = await db
    .selectFrom('staff_sign_in_challenges')
    .select('token_hash')
    .where('token_hash', '=', hashSecretToken(token))
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * The second step: a code from the app or a recovery code, for the challenge the browser holds.
 * Right: the challenge is spent and a session starts. Wrong: a few more tries, then the sign-in
 * starts again from the first step (where wrong passwords slow down).
 */
export async function completeSecondFactor(db: Database, token: string | null, code: string, request: Request): Promise<SecondFactorResult> {
  if (!token) return { outcome: 'start-again' }
  return db.transaction().execute(async (trx): Promise<SecondFactorResult> => {
    const challenge = await trx
      .selectFrom('staff_sign_in_challenges as c')
      .innerJoin('staff_users as u', 'u.id', 'c.staff_user_id')
      .select(['c.token_hash', 'c.staff_user_id', 'c.method', 'c.redirect_to', 'c.attempts'])
      .where('c.token_hash', '=', hashSecretToken(token))
      .where('c.expires_at', '>', sql<Date>`now()`)
      .where('u.disabled_at', 'is', null)
      .where('u.totp_enabled_at', 'is not', null)
      .forUpdate()
      .executeTakeFirst()
    if (!challenge) return { outcome: 'start-again' }
    const checked = await verifySecondFactor(trx, challenge.staff_user_id, code)
    if (checked.outcome === 'wrong') {
      const attempts = challenge.attempts + 1
      if (attempts >= CODE_ATTEMPTS) {
        await trx.deleteFrom('staff_sign_in_challenges').where('token_hash', '=', challenge.token_hash).execute()
        return { outcome: 'start-again' }
      }
      await trx.updateTable('staff_sign_in_challenges').set({ attempts }).where('token_hash', '=', challenge.token_hash).execute()
      return { outcome: 'wrong-code', attemptsLeft: CODE_ATTEMPTS - attempts }
    }
    await trx.deleteFrom('staff_sign_in_challenges').where('token_hash', '=', challenge.token_hash).execute()
    // Old challenges are no use to anyone; a new sign-in makes its own.
    await trx.deleteFrom('staff_sign_in_challenges').where('expires_at', '<', sql<Date>`now()`).execute()
    const setCookie = await startStaffSession(trx, challenge.staff_user_id, request)
    await audit(trx, challenge.staff_user_id, 'staff.signed_in', { method: challenge.method, secondFactor: checked.outcome })
    return {
      outcome: 'signed-in',
      staffUserId: challenge.staff_user_id,
      setCookie,
      redirectTo: safeStaffRedirect(challenge.redirect_to),
      ...(checked.outcome === 'recovery-code' ? { recoveryCodesLeft: checked.remaining } : {}),
    }
  })
}

/** A path inside the staff area to return to after signing in (not a sign-in page); else /staff. */
export function safeStaffRedirect(target: string | null | undefined): string {
  const path = safeRedirect(target, '/staff', { within: '/staff' })
  return path.startsWith('/staff/sign-') ? '/staff' : path
}
