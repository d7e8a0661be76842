import { render } from '@react-email/components'
import { createElement } from 'react'
import { type z } from 'zod'
import appealUpdate from '#emails/appeal-update.tsx'
import donationReceipt from '#emails/donation-receipt.tsx'
import eventCancelled from '#emails/event-cancelled.tsx'
import eventChanged from '#emails/event-changed.tsx'
import eventReminder from '#emails/event-reminder.tsx'
import { type EmailTemplate, htmlToTextOptions } from '#emails/layout.tsx'
import monthlyGiftCancelled from '#emails/monthly-gift-cancelled.tsx'
import monthlyGiftReceipt from '#emails/monthly-gift-receipt.tsx'
import placeOffered from '#emails/place-offered.tsx'
import registrationCancelled from '#emails/registration-cancelled.tsx'
import registrationConfirmed from '#emails/registration-confirmed.tsx'
import registrationRefunded from '#emails/registration-refunded.tsx'
import savedEventAlert from '#emails/saved-event-alert.tsx'
import savedEventsLink from '#emails/saved-events-link.tsx'
import staffSignIn from '#emails/staff-sign-in.tsx'
import waitlistJoined from '#emails/waitlist-joined.tsx'

/**
 * Every email the app sends, by name. The name is what the outbox stores in `template`; the props
 * are stored beside it as jsonb, checked by `parseEmailProps` when the email is enqueued and again
 * by `renderEmail` when the worker sends it.
 */
export const emailTemplates = {
  'donation-receipt': donationReceipt,
  'monthly-gift-receipt': monthlyGiftReceipt,
  'monthly-gift-cancelled': monthlyGiftCancelled,
  'registration-confirmed': registrationConfirmed,
  'waitlist-joined': waitlistJoined,
  'place-offered': placeOffered,
  'registration-cancelled': registrationCancelled,
  'registration-refunded': registrationRefunded,
  'event-reminder': eventReminder,
  'event-cancelled': eventCancelled,
  'event-changed': eventChanged,
  'appeal-update': appealUpdate,
  'staff-sign-in': staffSignIn,
  'saved-events-link': savedEventsLink,
  'saved-event-alert': savedEventAlert,
} as const

export type EmailTemplateName = keyof typeof emailTemplates

/** The props a caller passes for a template (before defaults are filled in). */
export type EmailPropsInput<Name extends EmailTemplateName> = z.input<(typeof emailTemplates)[Name]['schema']>
/** The props after validation: what is stored in the outbox and what the template renders. */
export type EmailProps<Name extends EmailTemplateName> = z.output<(typeof emailTemplates)[Name]['schema']>

export const emailTemplateNames = Object.keys(emailTemplates) as EmailTemplateName[]

export function isEmailTemplateName(name: string): name is EmailTemplateName {
  return Object.hasOwn(emailTemplates, name)
}

/** Props that do not fit a template's schema. `problems` names each field ("amountMinor: …"). */
export class EmailPropsError extends Error {
  constructor(
    public readonly template: string,
    public readonly problems: string[],
  ) {
    super(`Invalid props for email "${template}":\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    this.name = 'EmailPropsError'
  }
}

/** Checks props against the template's schema; returns them with defaults filled in, or throws EmailPropsError. */
export function parseEmailProps<Name extends EmailTemplateName>(name: Name, props: unknown): EmailProps<Name> {
  const template = templateFor(name)
  const result = template.schema.safeParse(props)
  if (!result.success) {
    throw new EmailPropsError(
      name,
      result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(props)'}: ${issue.message}`),
    )
  }
  return result.data as EmailProps<Name>
}

/** Validates the props, then renders the subject, the HTML and the plain-text version. */
export async function renderEmail(
  name: EmailTemplateName,
  props: unknown,
): Promise<{ subject: string; html: string; text: string; headers: Record<string, string> }> {
  const template = templateFor(name)
  const parsed = parseEmailProps(name, props)
  const element = createElement(template.Component, parsed)
  const [html, text] = await Promise.all([
    render(element),
    render(element, { plainText: true, htmlToTextOptions }),
  ])
  // react-email's preview padding can end in a NUL character, which no mail client needs and
  // PostgreSQL text cannot hold.
  const unsubscribeUrl = template.unsubscribeUrl?.(parsed)
  const headers: Record<string, string> = unsubscribeUrl
    ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
    : {}
  return { subject: oneLine(template.subject(parsed)), html: withoutNul(html), text: withoutNul(text).trim(), headers }
}

function templateFor(name: string): EmailTemplate<z.ZodTypeAny> {
  if (!isEmailTemplateName(name)) throw new Error(`Unknown email template "${name}"`)
  return emailTemplates[name] as unknown as EmailTemplate<z.ZodTypeAny>
}

function withoutNul(text: string) {
  return text.replaceAll('\u0000', '')
}

/** A subject is one header line: no line breaks, no runs of spaces, and not too long. */
function oneLine(text: string) {
  const characters = Array.from(text.replace(/\s+/g, ' ').trim())
  return characters.length > 200 ? `${characters.slice(0, 199).join('')}…` : characters.join('')
}
