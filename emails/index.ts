import { plainTextSelectors, render } from '@react-email/components'
import { compile } from 'html-to-text'
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
import registrationExists from '#emails/registration-exists.tsx'
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
  'registration-exists': registrationExists,
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

export type RenderedEmail = { subject: string; html: string; text: string; headers: Record<string, string> }

/**
 * The plain-text version, from the HTML: what react-email's `render(…, { plainText: true })` gives
 * (its selectors and options, ours added), with the converter compiled once rather than on every
 * call, which cost four times the conversion itself, and without rendering the email a second time.
 */
const htmlToText = compile({ wordwrap: false, ...htmlToTextOptions, selectors: [...plainTextSelectors, ...htmlToTextOptions.selectors] })

/** Validates the props, then renders the subject, the HTML and the plain-text version. */
export async function renderEmail(name: EmailTemplateName, props: unknown): Promise<RenderedEmail> {
  const template = templateFor(name)
  const parsed = parseEmailProps(name, props)
  return finishRendering(template, parsed, await render(createElement(template.Component, parsed)))
}

function finishRendering(template: EmailTemplate<z.ZodTypeAny>, parsed: unknown, html: string): RenderedEmail {
  const unsubscribeUrl = template.unsubscribeUrl?.(parsed)
  const headers: Record<string, string> = unsubscribeUrl
    ? { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
    : {}
  // react-email's preview padding can end in a NUL character, which no mail client needs and
  // PostgreSQL text cannot hold.
  return { subject: oneLine(template.subject(parsed)), html: withoutNul(html), text: withoutNul(htmlToText(html)).trim(), headers }
}

/** Whether a template's emails may go through Resend's batch endpoint (when they have no attachments). */
export function isBatchTemplate(name: string): boolean {
  return isEmailTemplateName(name) && templateFor(name).batch !== undefined
}

export type BulkRenderResult = { ok: true; email: RenderedEmail } | { ok: false; error: string }

/**
 * Renders many emails at once, in order; one that cannot be rendered is an error in its place,
 * not a failure of the rest. Emails of a batch template that differ only in its `personalised`
 * props (an appeal update to ten thousand people: the same news, each with their own name and
 * unsubscribe link) are rendered once, with a stand-in for each such prop, and each person's values
 * are put in its place, escaped as React escapes text and attributes. Rendering one costs
 * milliseconds; ten thousand of them would hold the worker far below Resend's rate. Whenever a
 * stand-in does not come through whole (a template that changed a personal value rather than
 * printing it), each email of that group is rendered on its own instead.
 */
export async function renderEmails(emails: { template: string; props: unknown }[]): Promise<BulkRenderResult[]> {
  const results: BulkRenderResult[] = new Array(emails.length)
  const groups = new Map<string, { template: EmailTemplate<z.ZodTypeAny>; standIns: Record<string, unknown>; members: { index: number; parsed: Record<string, unknown>; values: [string, string][] }[] }>()
  for (const [index, email] of emails.entries()) {
    let parsed: Record<string, unknown>
    try {
      parsed = parseEmailProps(email.template as EmailTemplateName, email.props) as Record<string, unknown>
    } catch (error) {
      results[index] = { ok: false, error: (error as Error).message }
      continue
    }
    const template = templateFor(email.template)
    const personalised = (template.batch?.personalised ?? []).filter((key) => typeof parsed[key] === 'string' && parsed[key] !== '')
    const standIns = { ...parsed }
    const values: [string, string][] = personalised.map((key, position) => {
      standIns[key] = `${STAND_IN}${position}z`
      return [`${STAND_IN}${position}z`, parsed[key] as string]
    })
    // Props are JSON (they come from jsonb), so equal stand-in props mean the same email but for the values.
    const key = `${email.template}\u0000${JSON.stringify(standIns)}`
    const group = groups.get(key) ?? { template, standIns, members: [] }
    group.members.push({ index, parsed, values })
    groups.set(key, group)
  }
  for (const group of groups.values()) {
    const shared = group.members.length > 1 ? await renderWithStandIns(group.template, group.standIns, group.members[0]!.values.length) : null
    for (const member of group.members) {
      try {
        const html = shared === null ? await render(createElement(group.template.Component, member.parsed)) : putValuesIn(shared, member.values)
        results[member.index] = { ok: true, email: finishRendering(group.template, member.parsed, html) }
      } catch (error) {
        results[member.index] = { ok: false, error: (error as Error).message }
      }
    }
  }
  return results
}

/** Marks a stand-in: random per process, so no text a person wrote can look like one. */
// Web Crypto, not node:crypto: this module is also in the browser bundle of the dev mailbox's page.
const STAND_IN = `zpersonal${Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (byte) => byte.toString(16).padStart(2, '0')).join('')}v`

/** The shared HTML, or null when any stand-in did not come through exactly as it went in. */
async function renderWithStandIns(template: EmailTemplate<z.ZodTypeAny>, standIns: Record<string, unknown>, count: number) {
  let html: string
  try {
    html = await render(createElement(template.Component, standIns))
  } catch {
    return null
  }
  let rest = html
  for (let position = 0; position < count; position++) {
    if (!rest.includes(`${STAND_IN}${position}z`)) return null
    rest = rest.replaceAll(`${STAND_IN}${position}z`, '')
  }
  return rest.includes(STAND_IN) ? null : html
}

function putValuesIn(html: string, values: [string, string][]) {
  let result = html
  for (const [standIn, value] of values) result = result.replaceAll(standIn, () => escapeLikeReact(value))
  return result
}

/** React DOM's escaping of text and attribute values (escapeTextForBrowser). */
function escapeLikeReact(value: string) {
  return value.replace(/["&'<>]/g, (character) => REACT_ESCAPES[character]!)
}
const REACT_ESCAPES: Record<string, string> = { '"': '&quot;', '&': '&amp;', "'": '&#x27;', '<': '&lt;', '>': '&gt;' }

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
