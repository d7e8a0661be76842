import { createCookie } from '@remix-run/node'
import { getEnv } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'

/** Outside production the cookie is signed with a fixed key, so saves survive a restart. */
const DEVELOPMENT_SECRET = 'sanad-development-saver-cookie-key'
const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60

/**
 * The anonymous saver id and nothing else: no name, no email, no tracking. Built on each use
 * rather than at import so that the environment is read once it is known.
 */
function saverCookie() {
  const env = getEnv()
  return createCookie('sanad_saver', {
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
