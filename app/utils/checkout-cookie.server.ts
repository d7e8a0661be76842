import { createCookie } from '@remix-run/node'
import { getEnv, type Env } from '#app/utils/env.server.ts'

/** Outside production the cookie is signed with a fixed key, so a restart does not lose it. */
const DEVELOPMENT_SECRET = 'sanad-development-checkout-cookie-key'
/** Long enough for a hold (32 minutes) and a slow return from Stripe; no longer. */
export const CHECKOUT_COOKIE_SECONDS = 60 * 60

/**
 * `__Host-` in production, like the saver cookie (saver-cookie.server.ts): only this host, over
 * HTTPS, can set it, so a sibling subdomain cannot plant one and read someone's booking.
 */
export function checkoutCookieName(env: Env = getEnv()): string {
  return env.NODE_ENV === 'production' ? '__Host-sanad_checkout' : 'sanad_checkout'
}

/**
 * Which ticket checkout this browser started: the Checkout Session's id, signed, HttpOnly, for an
 * hour. The page Stripe returns to (its URL holds only the session id, which Stripe, the browser's
 * history or a shared screen may give away) shows the booking's personal details only when this
 * cookie names the same session (docs/decisions/021). SameSite=Lax: the return from Stripe is a
 * top-level GET, which carries it.
 */
function checkoutCookie() {
  const env = getEnv()
  return createCookie(checkoutCookieName(env), {
    httpOnly: true,
    sameSite: 'lax',
    secure: env.NODE_ENV === 'production',
    path: '/',
    maxAge: CHECKOUT_COOKIE_SECONDS,
    secrets: [env.SESSION_SECRET ?? DEVELOPMENT_SECRET],
  })
}

/** The checkout session this browser started, from a validly signed cookie, or null. */
export async function readCheckoutSessionId(request: Request): Promise<string | null> {
  const header = request.headers.get('Cookie')
  if (!header) return null
  const value: unknown = await checkoutCookie().parse(header)
  return typeof value === 'string' && /^cs_[A-Za-z0-9_-]{1,250}$/.test(value) ? value : null
}

/** Set on the 303 that sends this browser to Checkout. */
export function checkoutCookieHeader(checkoutSessionId: string): Promise<string> {
  return checkoutCookie().serialize(checkoutSessionId)
}
