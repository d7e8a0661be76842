import { expect } from 'vitest'
import type { StaffRole } from '#db/schema.ts'
import { sql } from 'kysely'
import { startStaffSession } from '#app/modules/staff/sessions.server.ts'
import { SEND_SIGN_IN_LINK_TASK, sendRequestedSignInLink } from '#app/modules/staff/sign-in.server.ts'
import { upsertStaffUser } from '#app/modules/staff/staff-users.server.ts'
import { codeFor, enableTotpWithSecret } from '#app/modules/staff/two-factor.server.ts'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const ORIGIN = 'http://localhost:3000'

export type Answer = { status: number; body: unknown; headers: Headers }

/** A loader or action may return a value, `data()` or a Response, or throw a Response: read all alike. */
export async function settle(run: () => Promise<unknown>): Promise<Answer> {
  let result: unknown
  try {
    result = await run()
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown
    result = thrown
  }
  if (result instanceof Response) return { status: result.status, body: null, headers: result.headers }
  if (result && typeof result === 'object' && 'type' in result && result.type === 'DataWithResponseInit') {
    const { data, init } = result as unknown as { data: unknown; init: ResponseInit | null }
    return { status: init?.status ?? 200, body: data, headers: new Headers(init?.headers) }
  }
  return { status: 200, body: result, headers: new Headers() }
}

let ipCounter = 0
/** A fresh client address, so one test's attempts do not count against the next one's limit. */
export function freshIp() {
  ipCounter += 1
  return `192.0.2.${ipCounter}`
}

type RequestOptions = { cookie?: string | null; ip?: string; headers?: Record<string, string> }

export function postRequest(path: string, fields: Record<string, string>, options: RequestOptions = {}) {
  const headers = new Headers({ Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', [CLIENT_IP_HEADER]: options.ip ?? freshIp(), ...options.headers })
  if (options.cookie) headers.set('Cookie', options.cookie)
  return new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) })
}

export function getRequest(path: string, options: RequestOptions = {}) {
  const headers = new Headers({ [CLIENT_IP_HEADER]: options.ip ?? freshIp(), ...options.headers })
  if (options.cookie) headers.set('Cookie', options.cookie)
  return new Request(`${ORIGIN}${path}`, { headers })
}

/** The name=value part of a Set-Cookie header, as the browser would send it back. */
export function cookieFrom(setCookie: string | null) {
  expect(setCookie).toBeTruthy()
  return setCookie!.split(';')[0]!
}

export function tokenFromCookie(cookie: string) {
  return cookie.slice(cookie.indexOf('=') + 1)
}

/** The TOTP secret of every test administrator (and of anyone made with `secondFactor: true`). */
export const TEST_TOTP_SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU'

/** The code for the test secret, `steps` periods of 30 s from now (the server takes ±1). */
export function testCode(steps = 0, secret = TEST_TOTP_SECRET) {
  return codeFor(secret, Date.now() + steps * 30_000)
}

let userCounter = 0
/**
 * A staff member. Administrators must have a second factor, so a test administrator has TOTP on
 * with `TEST_TOTP_SECRET` unless `secondFactor: false` (an administrator who has not set it up).
 */
export async function createStaff(role: StaffRole, options: { password?: string; secondFactor?: boolean } = {}) {
  userCounter += 1
  const email = `staff-${role}-${userCounter}-${Date.now()}@example.org`
  const { id } = await upsertStaffUser(getDb(), { email, role, name: `Test ${role}`, password: options.password })
  if (options.secondFactor ?? role === 'admin') await enableTotpWithSecret(getDb(), id, TEST_TOTP_SECRET)
  return { id, email }
}

/**
 * Runs the sign-in link jobs the form added (as the worker would), oldest first, and removes them.
 * Returns how many ran.
 */
export async function runSignInLinkJobs(): Promise<number> {
  const db = getDb()
  const { rows } = await sql<{ id: string; payload: { email: string } }>`
    select j.id, j.payload from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where t.identifier = ${SEND_SIGN_IN_LINK_TASK} order by j.id`.execute(db)
  for (const job of rows) {
    await sendRequestedSignInLink(db, job.payload.email)
    await sql`select graphile_worker.complete_jobs(array[${job.id}]::bigint[])`.execute(db)
  }
  return rows.length
}

/** A signed-in staff member's cookie, without going through the sign-in form. */
export async function sessionCookieFor(staffUserId: string) {
  return cookieFrom(await startStaffSession(getDb(), staffUserId))
}
