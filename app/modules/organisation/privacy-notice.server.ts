import { recordAudit } from '#app/modules/staff/audit.server.ts'
import type { Database } from '#app/utils/db.server.ts'

/** The longest notice an administrator may save: several pages of text, far below any limit. */
export const PRIVACY_NOTICE_MAX_LENGTH = 20_000

/**
 * The notice shown until an administrator writes their own. It describes what this software does
 * (what it asks for, which processors see what, how long the retention jobs keep it): an
 * organisation that changes any of that must change the text too.
 */
export function defaultPrivacyNotice(organisationName: string): string {
  return [
    `This notice explains what ${organisationName} does with the details you give us on this website, and your rights over them.`,
    '',
    '# What we collect',
    '',
    '- **When you give:** your name, your email address, the amount and, if you choose, a message. If you add Gift Aid, your home address and postcode, which HMRC requires.',
    '- **When you register for an event:** your name, your email address, the number of places and any access needs you tell us about.',
    '- **When you save events or ask for alerts:** your email address, only if you give it.',
    '',
    'We set no tracking or advertising cookies, and this site loads nothing from other websites. A cookie is set only to remember the events you saved or to bring your donation form back if you return from the payment page.',
    '',
    '# Why we collect it',
    '',
    '- To take your gift or book your place, and to send your receipt or ticket (our contract with you).',
    '- To claim Gift Aid from HMRC when you ask us to (a legal obligation).',
    '- To send you updates about an appeal or event only if you ask for them (your consent, which you can withdraw at any time with the link in every email).',
    '',
    'We never show your name, your gift or your message on the website unless you ask us to, and we never sell or share your details for marketing.',
    '',
    '# Who processes it for us',
    '',
    '- **Stripe** takes card and bank payments. Your card details go to Stripe, never to us.',
    '- **Resend** delivers our emails (receipts, tickets, updates).',
    '',
    'Both act on our instructions under data processing agreements and protect your data as UK GDPR requires.',
    '',
    '# How long we keep it',
    '',
    '- Gift and Gift Aid records: six years after the end of the tax year, as HMRC requires.',
    '- Event registrations: one year after the event.',
    '- An unfinished donation form: one hour in your browser; unpaid checkouts are cleared after a day.',
    '- Email delivery records: ninety days.',
    '',
    '# Your rights under UK GDPR',
    '',
    'You have the right to see the data we hold about you, to have it corrected or deleted, to object to or restrict how we use it, to take a copy of it, and to withdraw your consent at any time. To use any of these rights, contact us (see the contact page). We answer within one month.',
    '',
    "If you are unhappy with how we have handled your data, you can complain to the Information Commissioner's Office (ico.org.uk, 0303 123 1113).",
  ].join('\n')
}

export async function getPrivacyNotice(db: Database) {
  const row = await db
    .selectFrom('organisation')
    .select(['name', 'privacy_notice_markdown', 'privacy_notice_updated_at', 'charity_number', 'registered_address'])
    .where('id', '=', 1)
    .executeTakeFirst()
  return {
    markdown: row?.privacy_notice_markdown ?? defaultPrivacyNotice(row?.name ?? 'Our organisation'),
    isDefault: !row?.privacy_notice_markdown,
    updatedAt: row?.privacy_notice_updated_at ?? null,
    charityNumber: row?.charity_number ?? null,
    registeredAddress: row?.registered_address ?? null,
  }
}

export type TrustDetails = { notice: string; charityNumber: string; registeredAddress: string }

/**
 * Saves an administrator's privacy notice, charity number and registered address (what the footer
 * shows on every page), with an audit entry in the same transaction. The texts themselves are not
 * copied into the log (the notice may be long); which of them changed is. An empty notice goes
 * back to the default text; an empty number or address is shown nowhere.
 */
export async function saveTrustDetails(db: Database, staffUserId: string, details: TrustDetails, now = new Date()): Promise<boolean> {
  const notice = details.notice.trim() === '' ? null : details.notice
  const charityNumber = details.charityNumber.trim() || null
  const registeredAddress = details.registeredAddress.trim() || null
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('organisation')
      .select(['privacy_notice_markdown', 'charity_number', 'registered_address'])
      .where('id', '=', 1)
      .forUpdate()
      .executeTakeFirst()
    // No organisation row yet (a database never seeded or set up): nothing to attach them to.
    if (!before) return false
    const noticeChanged = before.privacy_notice_markdown !== notice
    await trx
      .updateTable('organisation')
      .set({
        privacy_notice_markdown: notice,
        charity_number: charityNumber,
        registered_address: registeredAddress,
        ...(noticeChanged ? { privacy_notice_updated_at: now } : {}),
      })
      .where('id', '=', 1)
      .execute()
    await recordAudit(trx, {
      staffUserId,
      action: notice === null && noticeChanged ? 'privacy_notice.reset' : 'privacy_notice.update',
      subjectType: 'organisation',
      subjectId: null,
      details: {
        noticeChanged,
        noticeLength: notice?.length ?? 0,
        charityNumberChanged: before.charity_number !== charityNumber,
        registeredAddressChanged: before.registered_address !== registeredAddress,
      },
    })
    return true
  })
}
