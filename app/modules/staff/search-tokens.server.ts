import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { getEnv } from '#app/utils/env.server.ts'

/**
 * Staff search for donors and attendees by name or email. What was typed must never be in a URL
 * (access logs, proxies' logs, browser history, Referer: docs/decisions/011 and 022), yet a search
 * result must be a page one can reload, page through and download as CSV without JavaScript. The
 * search form is POSTed; the action seals the text into an opaque token, encrypted and
 * authenticated (AES-256-GCM) under a key derived from SESSION_SECRET, bound to the staff member
 * and the page it is for, valid for a working day; the page's URL carries only `?s=<token>`.
 * Nothing is stored, so nothing needs purging; after it expires the token is just noise.
 */

/** What each token is for: a token sealed for one page is refused by another. */
export const SEARCH_PURPOSE = {
  donations: 'donations',
  checkIn: 'check-in',
} as const
export type SearchPurpose = (typeof SEARCH_PURPOSE)[keyof typeof SEARCH_PURPOSE]

/** A working day: long enough to page through and download, short enough to go stale on its own. */
export const SEARCH_TOKEN_SECONDS = 12 * 60 * 60
/** Outside production the key is fixed, so tokens survive a restart of the dev server. */
const DEVELOPMENT_SECRET = 'sanad-development-search-key'
const IV_BYTES = 12
const TAG_BYTES = 16

function key(): Buffer {
  const secret = getEnv().SESSION_SECRET ?? DEVELOPMENT_SECRET
  return Buffer.from(hkdfSync('sha256', secret, 'sanad', 'staff-search-token', 32))
}

/** An opaque, URL-safe token for `text`, which only `staffUserId` can open, on `purpose`'s page. */
export function sealSearch(staffUserId: string, purpose: SearchPurpose, text: string, now = Date.now()): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key(), iv)
  // The staff member and the page are authenticated, not encrypted: they are checked on opening.
  cipher.setAAD(Buffer.from(`${purpose}:${staffUserId}`))
  const expires = Math.floor(now / 1000) + SEARCH_TOKEN_SECONDS
  const sealed = Buffer.concat([cipher.update(JSON.stringify({ e: expires, q: text }), 'utf8'), cipher.final()])
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')
}

export type OpenedSearch = { outcome: 'found'; text: string } | { outcome: 'expired' } | { outcome: 'invalid' }

/** The text sealed in `token`, if it was sealed for this staff member and page and is still fresh. */
export function openSearch(staffUserId: string, purpose: SearchPurpose, token: string, now = Date.now()): OpenedSearch {
  const bytes = Buffer.from(token, 'base64url')
  if (token.length > 2000 || bytes.length < IV_BYTES + TAG_BYTES + 2) return { outcome: 'invalid' }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key(), bytes.subarray(0, IV_BYTES))
    decipher.setAAD(Buffer.from(`${purpose}:${staffUserId}`))
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
    const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    const { e, q } = JSON.parse(plain) as { e: unknown; q: unknown }
    if (typeof e !== 'number' || typeof q !== 'string') return { outcome: 'invalid' }
    return e * 1000 > now ? { outcome: 'found', text: q } : { outcome: 'expired' }
  } catch {
    return { outcome: 'invalid' }
  }
}
