import type { Database } from '#app/utils/db.server.ts'
import type { Env } from '#app/utils/env.server.ts'
import { appUrl } from '#app/utils/env.server.ts'

/**
 * Without SECURITY_TXT_EXPIRES the file is renewed every day to expire this long after it: the file
 * is generated from live settings, so it cannot go stale, and RFC 9116 advises less than a year.
 */
const DEFAULT_VALID_DAYS = 180

/**
 * security.txt (RFC 9116) for this site, or undefined when nobody can be named as its contact (an
 * RFC 9116 file must have one; SECURITY_CONTACT, else the organisation's contact email).
 */
export async function getSecurityTxt(db: Database, env: Env): Promise<string | undefined> {
  let contact = env.SECURITY_CONTACT
  if (!contact) {
    const organisation = await db.selectFrom('organisation').select('contact_email').where('id', '=', 1).executeTakeFirst()
    if (organisation?.contact_email) contact = `mailto:${organisation.contact_email}`
  }
  if (!contact) return undefined
  return buildSecurityTxt({ contact, expires: env.SECURITY_TXT_EXPIRES, appUrl: appUrl(env) })
}

export function buildSecurityTxt(options: { contact: string; expires: Date | undefined; appUrl: string; now?: Date }) {
  const today = new Date(options.now ?? Date.now())
  today.setUTCHours(0, 0, 0, 0)
  const expires = options.expires ?? new Date(today.getTime() + DEFAULT_VALID_DAYS * 24 * 60 * 60 * 1000)
  return [
    `Contact: ${options.contact}`,
    `Expires: ${expires.toISOString()}`,
    'Preferred-Languages: en',
    `Canonical: ${options.appUrl}/.well-known/security.txt`,
    '',
  ].join('\n')
}
