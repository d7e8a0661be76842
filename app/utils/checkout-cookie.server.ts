import { createCookie } from '@remix-run/node'
import { getEnv, type Env } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'

/** Outside production the cookie is signed with a fixed key, as the saver cookie is. */
const DEVELOPMENT_SECRET = 'sanad-development-checkout-cookie-key'

/**
 * How long a browser that went to the payment page can come back to its own form filled in. Long
 * enough to look for a card; short, since the form holds a name, an email address and an address.
 */
export const CHECKOUT_RETURN_SECONDS = 60 * 60

/** `__Host-` in production, for the reason saver-cookie.server.ts gives; plain http cannot use it. */
export function checkoutCookieName(env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? '__Host-sanad_checkout' : 'sanad_checkout'
}

/**
 * The submission id of the checkout this browser started, and nothing else: what was typed stays
 * in the database, with the pending donation that id names (docs/decisions/024). Signed, so no
 * one can point it at someone else's donation; HttpOnly, so no script can read it; SameSite=Lax,
 * so it comes back with Stripe's return to the appeal (a top-level GET).
 */
function checkoutCookie() {
  const env = getEnv()
  return createCookie(checkoutCookieName(env), {
    httpOnly: true,
    sameSite: 'lax',
    secure: env.NODE_ENV === 'production',
    path: '/',
    maxAge: CHECKOUT_RETURN_SECONDS,
    secrets: [env.SESSION_SECRET ?? DEVELOPMENT_SECRET],
  })
}

/** The submission id from a validly signed cookie, or null: a forged or garbled one counts as none. */
export async function readCheckoutSubmissionId(request: Request): Promise<string | null> {
  const header = request.headers.get('Cookie')
  if (!header) return null
  const value: unknown = await checkoutCookie().parse(header)
  return isUuid(value) ? value : null
}

/** Set with the redirect to the payment page, whether the page runs JavaScript or not. */
export function checkoutCookieHeader(submissionId: string): Promise<string> {
  return checkoutCookie().serialize(submissionId)
}
