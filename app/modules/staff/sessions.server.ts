import { createHash, randomBytes } from 'node:crypto'
import { redirect } from '@remix-run/node'
import { sql } from 'kysely'
import type { StaffRole } from '#db/schema.ts'
import { getDb, type Database, type DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl, getEnv, type Env } from '#app/utils/env.server.ts'

export type { StaffRole }

export const IDLE_TIMEOUT_MINUTES = 30
export const ABSOLUTE_TIMEOUT_HOURS = 12

const ROLE_RANK: Record<StaffRole, number> = { viewer: 0, staff: 1, admin: 2 }

/** `secondFactor`: whether the member has TOTP turned on (an administrator must, docs/decisions/020). */
export type StaffMember = { id: string; email: string; name: string; role: StaffRole; secondFactor: boolean }
export type StaffSession = { tokenHash: string; staff: StaffMember }

export function hasRole(actual: StaffRole, required: StaffRole): boolean {
  return ROLE_RANK[actual] >= ROLE_RANK[required]
}

/** 32 random bytes: guessing one is hopeless, so the token alone is the credential. */
export function newSecretToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * A plain SHA-256 is enough for a 256-bit random token (nothing to brute-force), and it lets a
 * session be found by its primary key. A copy of the table is then useless for signing in.
 */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * `__Host-` makes the browser refuse the cookie unless it is Secure, Path=/ and without Domain,
 * so a sibling subdomain cannot plant or overwrite it. Plain http on a laptop cannot use it.
 */
export function sessionCookieName(env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? '__Host-sanad_staff' : 'sanad_staff'
}

function cookieAttributes(env: Env, maxAgeSeconds: number) {
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`]
  if (env.NODE_ENV === 'production') attributes.push('Secure')
  return attributes.join('; ')
}

function sessionCookie(token: string, env: Env = getEnv()) {
  return `${sessionCookieName(env)}=${token}; ${cookieAttributes(env, ABSOLUTE_TIMEOUT_HOURS * 60 * 60)}`
}

/** A Set-Cookie value that removes the session cookie. */
export function clearSessionCookie(env: Env = getEnv()): string {
  return `${sessionCookieName(env)}=; ${cookieAttributes(env, 0)}`
}

export function readSessionToken(request: Request): string | null {
  return readTokenCookie(request, sessionCookieName())
}

/**
 * The cookie of a sign-in that has passed its first step (password or link) and waits for the
 * second factor: short-lived, and worth nothing without the code.
 */
export const CHALLENGE_MINUTES = 10

export function challengeCookieName(env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? '__Host-sanad_staff_code' : 'sanad_staff_code'
}

export function challengeCookie(token: string, env: Env = getEnv()): string {
  return `${challengeCookieName(env)}=${token}; ${cookieAttributes(env, CHALLENGE_MINUTES * 60)}`
}

export function clearChallengeCookie(env: Env = getEnv()): string {
  return `${challengeCookieName(env)}=; ${cookieAttributes(env, 0)}`
}

export function readChallengeToken(request: Request): string | null {
  return readTokenCookie(request, challengeCookieName())
}

function readTokenCookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get('Cookie') ?? '').split(';')) {
    const index = part.indexOf('=')
    if (index === -1 || part.slice(0, index).trim() !== name) continue
    const value = part.slice(index + 1).trim()
    // Our tokens are base64url; anything else was not made by us and is not worth a query.
    return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : null
  }
  return null
}

/**
 * Starts a session with a new token, whatever the browser had before (so a token planted before
 * sign-in is worthless afterwards), and ends the session the request came with, if any.
 * Returns the Set-Cookie header.
 */
export async function startStaffSession(
  db: Database | DatabaseTransaction,
  staffUserId: string,
  request?: Request,
): Promise<string> {
  const previous = request ? readSessionToken(request) : null
  if (previous) await db.deleteFrom('staff_sessions').where('token_hash', '=', hashSecretToken(previous)).execute()
  const token = newSecretToken()
  await db
    .insertInto('staff_sessions')
    .values({
      token_hash: hashSecretToken(token),
      staff_user_id: staffUserId,
      expires_at: sql<Date>`now() + make_interval(hours => ${ABSOLUTE_TIMEOUT_HOURS})`,
    })
    .execute()
  return sessionCookie(token)
}

/**
 * The session the request carries, if it is still good: not past its absolute expiry, used in
 * the last 30 minutes, and its user not disabled. Times are the database's, so every web server
 * agrees. `last_seen_at` moves at most once a minute, to spare a write on every page view.
 */
export async function getStaffSession(request: Request, db: Database = getDb()): Promise<StaffSession | null> {
  const token = readSessionToken(request)
  if (!token) return null
  const tokenHash = hashSecretToken(token)
  const row = await db
    .selectFrom('staff_sessions as s')
    .innerJoin('staff_users as u', 'u.id', 's.staff_user_id')
    .select(['u.id', 'u.email', 'u.name', 'u.role', 'u.totp_enabled_at'])
    .where('s.token_hash', '=', tokenHash)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('s.last_seen_at', '>', sql<Date>`now() - make_interval(mins => ${IDLE_TIMEOUT_MINUTES})`)
    .where('u.disabled_at', 'is', null)
    .executeTakeFirst()
  if (!row) return null
  await db
    .updateTable('staff_sessions')
    .set({ last_seen_at: sql`now()` })
    .where('token_hash', '=', tokenHash)
    .where('last_seen_at', '<', sql<Date>`now() - interval '1 minute'`)
    .execute()
  const { totp_enabled_at, ...member } = row
  return { tokenHash, staff: { ...member, secondFactor: totp_enabled_at !== null } }
}

/** Where an administrator without a second factor is sent, before anything else. */
export const TWO_FACTOR_PATH = '/staff/two-factor'

function signInUrl(request: Request) {
  const url = new URL(request.url)
  return `/staff/sign-in?redirectTo=${encodeURIComponent(`${url.pathname}${url.search}`)}`
}

/**
 * The guard of every staff loader and action. No good session: a redirect to sign in, which
 * comes back here afterwards. An administrator without a second factor: a redirect to set one up,
 * whatever they asked for (only the set-up page itself passes `allowWithoutSecondFactor`). A role
 * below the one asked for: 403.
 */
export async function requireStaff(
  request: Request,
  role: StaffRole = 'viewer',
  options: { allowWithoutSecondFactor?: boolean } = {},
): Promise<StaffMember> {
  const session = await getStaffSession(request)
  if (!session) throw redirect(signInUrl(request), { status: 303, headers: { 'Cache-Control': 'no-store' } })
  if (session.staff.role === 'admin' && !session.staff.secondFactor && !options.allowWithoutSecondFactor) {
    throw redirect(TWO_FACTOR_PATH, { status: 303, headers: { 'Cache-Control': 'no-store' } })
  }
  if (!hasRole(session.staff.role, role)) {
    throw new Response('You do not have permission to see this page', {
      status: 403,
      headers: { 'Cache-Control': 'no-store' },
    })
  }
  return session.staff
}

/** Ends the session this request carries. Returns the Set-Cookie header that clears it. */
export async function signOut(request: Request, db: Database = getDb()): Promise<string> {
  const token = readSessionToken(request)
  if (token) await db.deleteFrom('staff_sessions').where('token_hash', '=', hashSecretToken(token)).execute()
  return clearSessionCookie()
}

/** Ends every session of one staff member, on every device. */
export async function signOutEverywhere(db: Database | DatabaseTransaction, staffUserId: string): Promise<number> {
  const result = await db.deleteFrom('staff_sessions').where('staff_user_id', '=', staffUserId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Where an emailed sign-in or invitation link points: the token, never the address. */
export function signInLinkUrl(token: string): string {
  return `${appUrl()}/staff/sign-in/verify?token=${encodeURIComponent(token)}`
}
