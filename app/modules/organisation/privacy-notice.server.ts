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
    .select(['name', 'privacy_notice_markdown', 'privacy_notice_updated_at'])
    .where('id', '=', 1)
    .executeTakeFirst()
  const organisationName = row?.name ?? 'we'
  return {
    markdown: row?.privacy_notice_markdown ?? defaultPrivacyNotice(row?.name ?? 'Our organisation'),
    isDefault: !row?.privacy_notice_markdown,
    updatedAt: row?.privacy_notice_updated_at ?? null,
    organisationName,
  }
}

/**
 * Saves an administrator's text, with an audit entry in the same transaction. The text itself is
 * not copied into the log (it may be long); its length is, and the log says who changed it when.
 * An empty text goes back to the default notice.
 */
export async function savePrivacyNotice(db: Database, staffUserId: string, markdown: string, now = new Date()): Promise<boolean> {
  const text = markdown.trim() === '' ? null : markdown
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('organisation')
      .set({ privacy_notice_markdown: text, privacy_notice_updated_at: now })
      .where('id', '=', 1)
      .executeTakeFirst()
    // No organisation row yet (a database never seeded or set up): nothing to attach the notice to.
    if (Number(updated.numUpdatedRows) !== 1) return false
    await recordAudit(trx, {
      staffUserId,
      action: text === null ? 'privacy_notice.reset' : 'privacy_notice.update',
      subjectType: 'organisation',
      subjectId: null,
      details: { length: text?.length ?? 0 },
    })
    return true
  })
}
