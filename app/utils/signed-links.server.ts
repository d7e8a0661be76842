import { createHmac, timingSafeEqual } from 'node:crypto'
import { appUrl, getEnv } from '#app/utils/env.server.ts'

/** Outside production, links are signed with a fixed development key so they survive restarts. */
const DEVELOPMENT_SECRET = 'sanad-development-link-signing-key'

/**
 * What each signature is for: a signature made for one purpose never passes for another, so a
 * "stop these updates" link cannot be replayed as a registration link. Signing and checking both
 * name the purpose from here.
 */
export const LINK_PURPOSE = {
  stopMonthlyGift: 'stop-monthly',
  registration: 'registration',
  checkin: 'checkin',
  appealUpdates: 'appeal-updates',
  saverLink: 'saver-link',
  saverAlertsOff: 'saver-alerts-off',
  waitlistConfirm: 'waitlist-confirm',
} as const
export type LinkPurpose = (typeof LINK_PURPOSE)[keyof typeof LINK_PURPOSE]

function sign(purpose: LinkPurpose, id: string) {
  const secret = getEnv().SESSION_SECRET ?? DEVELOPMENT_SECRET
  return createHmac('sha256', secret).update(`${purpose}:${id}`).digest('base64url')
}

export function verifySignature(purpose: LinkPurpose, id: string, signature: string) {
  const expected = Buffer.from(sign(purpose, id))
  const given = Buffer.from(signature)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/**
 * The link in every monthly receipt that lets the supporter stop the gift, no account needed. It
 * works for MONTHLY_STOP_LINK_DAYS after the receipt (its `expires`, in seconds, is signed with the
 * plan), so an old receipt found in a mailbox years on no longer stops the gift; each monthly
 * receipt brings a fresh one.
 */
export function stopMonthlyGiftUrl(planId: string, issuedAt: Date = new Date()) {
  const expires = Math.floor((issuedAt.getTime() + getEnv().MONTHLY_STOP_LINK_DAYS * DAY_MS) / 1000)
  return `${appUrl()}/donate/monthly/stop?plan=${encodeURIComponent(planId)}&expires=${expires}&signature=${sign(LINK_PURPOSE.stopMonthlyGift, `${planId}:${expires}`)}`
}

/**
 * Links sent before stop links expired carry no `expires` and are signed over the plan alone.
 * They keep working until this date, long enough for every monthly gift to have had a receipt
 * with a new link (docs/decisions/021), and never after.
 */
export const UNDATED_STOP_LINKS_END = new Date('2027-03-31T00:00:00Z')

/** Whether a stop link's signature is ours: 'valid', 'expired', or 'invalid' (never signed here). */
export function checkStopMonthlyGiftLink(link: { plan: string; signature: string; expires?: number }, now = new Date()): 'valid' | 'expired' | 'invalid' {
  if (link.expires === undefined) {
    if (!verifySignature(LINK_PURPOSE.stopMonthlyGift, link.plan, link.signature)) return 'invalid'
    return now < UNDATED_STOP_LINKS_END ? 'valid' : 'expired'
  }
  if (!verifySignature(LINK_PURPOSE.stopMonthlyGift, `${link.plan}:${link.expires}`, link.signature)) return 'invalid'
  return now.getTime() < link.expires * 1000 ? 'valid' : 'expired'
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * When a registration's links stop working: REGISTRATION_LINK_DAYS_AFTER_EVENT days after its
 * event ends. Worked out from the event (not written into the link), so every link ever sent,
 * older ones included, ends on the same day, and an event moved later keeps its links with it.
 */
export function registrationLinkExpiresAt(eventEndsAt: Date): Date {
  return new Date(eventEndsAt.getTime() + getEnv().REGISTRATION_LINK_DAYS_AFTER_EVENT * DAY_MS)
}

/** The link in every registration email: see, cancel or claim the place, no account needed. */
export function manageRegistrationUrl(registrationId: string) {
  return `${appUrl()}/registrations/${encodeURIComponent(registrationId)}?signature=${sign(LINK_PURPOSE.registration, registrationId)}`
}

/**
 * The link in the waitlist email: the registration's page with a second signature that only the
 * email carries. The page a person lands on after joining has only the first, so confirming
 * proves they can read mail at that address: a made-up address never confirms.
 */
export function confirmWaitlistUrl(registrationId: string) {
  return `${manageRegistrationUrl(registrationId)}&confirm=${sign(LINK_PURPOSE.waitlistConfirm, registrationId)}`
}

/**
 * What the QR code in a confirmation email carries: the registration's check-in token and a
 * signature, so a scanned code that was guessed or altered is refused rather than looked up.
 * Tokens are base64url and so never contain the '.' that separates the two parts.
 */
export function signedCheckinCode(token: string) {
  return `${token}.${sign(LINK_PURPOSE.checkin, token)}`
}

/** The raw check-in token inside a signed code, or null if the code is not one we signed. */
export function verifyCheckinCode(code: string): string | null {
  const dot = code.lastIndexOf('.')
  if (dot <= 0) return null
  const token = code.slice(0, dot)
  return verifySignature(LINK_PURPOSE.checkin, token, code.slice(dot + 1)) ? token : null
}

/** The "stop these updates" link in every appeal-update email: no account needed. */
export function stopAppealUpdatesUrl(appealId: string, supporterId: string) {
  const id = `${appealId}:${supporterId}`
  return `${appUrl()}/updates/stop?appeal=${encodeURIComponent(appealId)}&supporter=${encodeURIComponent(supporterId)}&signature=${sign(LINK_PURPOSE.appealUpdates, id)}`
}

/** The one-time link that keeps saved events on another device; the signature refuses a made-up token unseen. */
export function saverLinkUrl(token: string) {
  return `${appUrl()}/saved/verify?token=${encodeURIComponent(token)}&signature=${sign(LINK_PURPOSE.saverLink, token)}`
}

/** The link in every saved-event alert that turns the alerts off, no account needed. */
export function saverAlertsOffUrl(saverId: string) {
  return `${appUrl()}/saved/alerts/off?saver=${encodeURIComponent(saverId)}&signature=${sign(LINK_PURPOSE.saverAlertsOff, saverId)}`
}
