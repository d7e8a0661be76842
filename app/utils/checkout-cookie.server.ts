import { createCookie } from '@remix-run/node'
import { getEnv, type Env } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'

/** Outside production the cookies are signed with a fixed key, so a restart does not lose them. */
const DEVELOPMENT_SECRET = 'sanad-development-checkout-cookie-key'

/**
 * How long a browser that went to the payment page can come back to its own form filled in, or
 * see its own booking: long enough for a hold (32 minutes) and a slow return from Stripe, and
 * short, since what they name holds a name and an email address.
 */
export const CHECKOUT_RETURN_SECONDS = 60 * 60

/**
 * Two cookies, one per kind of checkout, so that a gift and a ticket bought in one evening do not
 * overwrite each other. `__Host-` in production, like the saver cookie (saver-cookie.server.ts):
 * only this host, over HTTPS, can set them, so a sibling subdomain cannot plant one.
 */
const NAMES = { donation: 'sanad_checkout', booking: 'sanad_booking' } as const

export function checkoutCookieName(kind: keyof typeof NAMES = 'donation', env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? `__Host-${NAMES[kind]}` : NAMES[kind]
}

/**
 * Signed, so no one can point it at someone else's checkout; HttpOnly, so no script can read it;
 * SameSite=Lax, so it comes back with Stripe's return (a top-level GET).
 */
function checkoutCookie(kind: keyof typeof NAMES) {
  const env = getEnv()
  return createCookie(checkoutCookieName(kind, env), {
    httpOnly: true,
    sameSite: 'lax',
    secure: env.NODE_ENV === 'production',
    path: '/',
    maxAge: CHECKOUT_RETURN_SECONDS,
    secrets: [env.SESSION_SECRET ?? DEVELOPMENT_SECRET],
  })
}

async function readCookie(kind: keyof typeof NAMES, request: Request): Promise<unknown> {
  const header = request.headers.get('Cookie')
  if (!header) return null
  return checkoutCookie(kind).parse(header)
}

/**
 * A gift: the submission id of the checkout this browser started, and nothing else; what was typed
 * stays in the database, with the pending donation that id names (docs/decisions/024). A forged or
 * garbled cookie counts as none.
 */
export async function readCheckoutSubmissionId(request: Request): Promise<string | null> {
  const value = await readCookie('donation', request)
  return isUuid(value) ? value : null
}

/** Set with the redirect to the payment page, whether the page runs JavaScript or not. */
export function checkoutCookieHeader(submissionId: string): Promise<string> {
  return checkoutCookie('donation').serialize(submissionId)
}

/**
 * A ticket: which Checkout Session this browser started. The page Stripe returns to (its URL holds
 * only the session id, which Stripe, the browser's history or a shared screen may give away) shows
 * the booking's personal details only when this cookie names the same session (docs/decisions/021).
 */
export async function readBookingSessionId(request: Request): Promise<string | null> {
  const value = await readCookie('booking', request)
  return typeof value === 'string' && /^cs_[A-Za-z0-9_-]{1,250}$/.test(value) ? value : null
}

/** Set on the 303 that sends this browser to Checkout for a ticket. */
export function bookingCookieHeader(checkoutSessionId: string): Promise<string> {
  return checkoutCookie('booking').serialize(checkoutSessionId)
}
