import { createCookie } from '@remix-run/node'
import { getEnv, type Env } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'

/** Outside production the cookie is signed with a fixed key, so saves survive a restart. */
const DEVELOPMENT_SECRET = 'sanad-development-saver-cookie-key'
const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60

/**
 * `__Host-` in production: the browser takes the cookie only when it is Secure, Path=/ and has no
 * Domain, so a sibling subdomain cannot plant its own saver id here (and then learn which events
 * this visitor saves). The plain name is not read in production, for the same reason; a saver with
 * an old plain cookie starts a new list (one kept with an email address comes back through the
 * link emailed to them). Plain http on a laptop cannot use the prefix.
 */
export function saverCookieName(env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? '__Host-sanad_saver' : 'sanad_saver'
}

/**
 * The anonymous saver id and nothing else: no name, no email, no tracking. Built on each use
 * rather than at import so that the environment is read once it is known.
 */
function saverCookie() {
  const env = getEnv()
  return createCookie(saverCookieName(env), {
    httpOnly: true,
    sameSite: 'lax',
    secure: env.NODE_ENV === 'production',
    path: '/',
    maxAge: ONE_YEAR_SECONDS,
    secrets: [env.SESSION_SECRET ?? DEVELOPMENT_SECRET],
  })
}

/** The saver id from a validly signed cookie, or null: a forged or garbled cookie counts as none. */
export async function readSaverId(request: Request): Promise<string | null> {
  const header = request.headers.get('Cookie')
  if (!header) return null
  const value: unknown = await saverCookie().parse(header)
  return isUuid(value) ? value : null
}

/** Set when someone saves or unsaves, never on a plain page view; each save renews the year. */
export function saverCookieHeader(saverId: string): Promise<string> {
  return saverCookie().serialize(saverId)
}
