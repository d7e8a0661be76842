import { dateTimeFormat } from '#app/utils/intl-cache.ts'
import {
  Body,
  Button,
  Container,
  Head,
  Hr,
  Html,
  Link,
  Preview,
  Section,
  Text,
} from '@react-email/components'
import { type CSSProperties, Fragment, type ReactElement, type ReactNode } from 'react'
import { z } from 'zod'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { isValidTimeZone } from '#app/utils/time-zone.ts'
import { formatMoney } from '#app/utils/money.ts'

/*
 * The shared layout of every email, and the pieces the templates share: prop schemas, formatting
 * and a few small components.
 *
 * Privacy: nothing here loads anything from another website. No images, no web fonts (system
 * fonts only), no tracking pixels, no remote CSS. Links are plain links the reader may follow.
 * Everything a person supplied is rendered as React text, so React escapes it.
 */

// ---------------------------------------------------------------------------------------------
// Prop schemas. Props are stored as jsonb in the outbox and rendered later, so they must be plain
// JSON: dates as ISO 8601 strings, money as integer minor units beside a currency code.

const hexColour = z
  .string()
  .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'Must be a hex colour such as #1f4e5f')

export const organisationSchema = z.object({
  name: z.string().trim().min(1).max(200),
  // Colours go into style attributes, so only a strict hex colour is allowed: anything else could
  // smuggle CSS (a remote background image, say) into the email.
  primaryColour: hexColour,
  accentColour: hexColour,
  contactEmail: z.string().trim().email().nullable(),
  charityNumber: z.string().trim().min(1).max(50).nullable(),
})
export type Organisation = z.infer<typeof organisationSchema>

/** An ISO 8601 instant with a zone designator ("2026-03-14T18:30:00.000Z", "…+01:00"). */
export const isoDateTime = z.string().datetime({ offset: true, message: 'Must be an ISO 8601 date and time, such as 2026-03-14T18:30:00Z' })

export const timeZoneSchema = z.string().refine(isValidTimeZone, 'Must be an IANA time zone, such as Europe/London')

/** An http(s) address. zod's url() alone accepts javascript: and data: addresses. */
export const httpUrl = z
  .string()
  .url('Must be a web address')
  .refine((value) => /^https?:$/.test(new URL(value).protocol), 'Must be an http or https address')

export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'Must be a three-letter currency code, such as GBP')
  .transform((value) => value.toUpperCase())
  .refine(isKnownCurrency, 'Must be an ISO 4217 currency code')

/** Integer minor units (pence, cents; whole yen). Never a float, never negative. */
export const minorUnits = z
  .number()
  .int('Must be a whole number of minor units (pence, cents)')
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER)

/** Someone's name for the greeting; absent or empty means "Hello,". */
export const personName = z
  .string()
  .trim()
  .max(200)
  .nullish()
  .transform((value) => (value ? value : null))

/** A title or other one-line text a person typed. */
export const lineOfText = z.string().trim().min(1).max(300)

/**
 * What every email about someone's registration for an event starts from (registrationEmailFacts
 * gives it). Templates that always know the end time override `endsAt` with a required one.
 */
export const registrationEmailFields = {
  organisation: organisationSchema,
  name: personName,
  eventTitle: lineOfText,
  eventUrl: httpUrl.nullish(),
  startsAt: isoDateTime,
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
}

/** Several paragraphs of plain text a person typed (never HTML, never markdown). */
export const plainTextBody = z.string().trim().min(1).max(20_000)

/** Where an event happens: a venue, an online joining address, or both. */
export const eventPlaceFields = {
  venueName: z.string().trim().min(1).max(300).nullish(),
  venueAddress: z.string().trim().min(1).max(1000).nullish(),
  accessNotes: z.string().trim().min(1).max(5000).nullish(),
  onlineUrl: httpUrl.nullish(),
}

export function requireVenueOrOnline(value: { venueName?: string | null; onlineUrl?: string | null }, ctx: z.RefinementCtx) {
  if (!value.venueName && !value.onlineUrl) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['venueName'], message: 'Give a venue name or an online joining address (onlineUrl)' })
  }
}

export function requireCurrencyForRefund(value: { refundMinor?: number | null; currency?: string | null }, ctx: z.RefinementCtx) {
  if ((value.refundMinor ?? 0) > 0 && !value.currency) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['currency'], message: 'Required when refundMinor is more than 0' })
  }
}

const knownCurrencies = new Set(Intl.supportedValuesOf('currency'))
function isKnownCurrency(code: string) {
  return knownCurrencies.has(code)
}

// ---------------------------------------------------------------------------------------------
// Templates

export type EmailTemplate<Schema extends z.ZodTypeAny> = {
  /** Validates props when the email is enqueued, and again when it is rendered. */
  schema: Schema
  subject: (props: z.output<Schema>) => string
  Component: (props: z.output<Schema>) => ReactElement
  /** Realistic, fictional data for `npm run email:preview` and the tests. */
  previewProps: z.input<Schema>
  /**
   * For email that is not strictly transactional (news, alerts): the signed address that stops
   * exactly this kind of email for this person. It becomes the `List-Unsubscribe` header with
   * one-click unsubscribe (RFC 8058), which Gmail and Yahoo require of bulk senders, beside the
   * visible link in the body. Receipts, confirmations and sign-in links have none.
   */
  unsubscribeUrl?: (props: z.output<Schema>) => string
  /**
   * For email that goes to many people at once (news, alerts, event notices): it may be sent
   * through Resend's batch endpoint, up to 100 to a request, when it has no attachments (the batch
   * endpoint takes none; docs/decisions/018-email-batches.md). `personalised` names the string
   * props that differ from one person to the next (a name, a signed link): a batch renders the
   * email once with stand-ins for them and puts each person's values in, which
   * tests/unit/email-batch-rendering.test.ts checks gives exactly what rendering each one would.
   */
  batch?: { personalised: readonly StringPropName<z.output<Schema>>[] }
}

/** The names of a template's props that hold text (or nothing). */
type StringPropName<Props> = { [Key in keyof Props]-?: Props[Key] extends string | null | undefined ? Key : never }[keyof Props] & string

/** Ties a template's parts to its schema, so each part is type-checked against the props. */
export function defineEmailTemplate<Schema extends z.ZodTypeAny>(template: EmailTemplate<Schema>) {
  return template
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function money(amountMinor: number, currency: string) {
  return formatMoney(amountMinor, currency)
}

/** "14 March 2026", on the calendar of the given zone (a late-night London gift keeps its date). */
export function formatDayInZone(instant: string, timeZone: string) {
  return dateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(instant))
}

/** Splits text a person typed into paragraphs on blank lines; single line breaks stay inside. */
export function paragraphs(text: string) {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0)
}

/** "Saturday 14 March 2026, 18:30 GMT to 20:00 GMT (London time)", in the event's own zone. */
export function formatEventWhen(startsAt: string, endsAt: string | null | undefined, timeZone: string) {
  const startDay = formatEventDate(startsAt, timeZone)
  const start = `${startDay}, ${formatEventTime(startsAt, timeZone)}`
  let when = start
  if (endsAt) {
    const endDay = formatEventDate(endsAt, timeZone)
    const endTime = formatEventTime(endsAt, timeZone)
    when = endDay === startDay ? `${start} to ${endTime}` : `${start} to ${endDay}, ${endTime}`
  }
  return `${when} (${zoneLabel(timeZone)})`
}

/** "Thursday 12 March 2026, 18:00 GMT (London time)". */
export function formatInstantInZone(instant: string, timeZone: string) {
  return formatEventWhen(instant, null, timeZone)
}

/** "London time" for Europe/London, "New York time" for America/New_York. */
export function zoneLabel(timeZone: string) {
  const place = timeZone.split('/').pop() ?? timeZone
  return `${place.replace(/_/g, ' ')} time`
}

// ---------------------------------------------------------------------------------------------
// Components

const fontFamily =
  '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'
const textColour = '#1b1b1b'
const mutedColour = '#4a4a4a'

const styles = {
  body: { backgroundColor: '#f3f6f7', margin: 0, padding: '24px 0', fontFamily, color: textColour },
  container: { backgroundColor: '#ffffff', maxWidth: '600px', margin: '0 auto', border: '1px solid #d6d6d6' },
  headerName: { color: '#ffffff', fontSize: '20px', lineHeight: '28px', fontWeight: 700, margin: 0 },
  content: { padding: '8px 32px 16px' },
  heading: { fontSize: '22px', lineHeight: '30px', fontWeight: 700, margin: '24px 0 8px', color: textColour },
  text: { fontSize: '16px', lineHeight: '24px', margin: '0 0 16px', color: textColour },
  factLabel: { fontSize: '14px', lineHeight: '20px', color: mutedColour },
  factValue: { fontSize: '16px', lineHeight: '24px', fontWeight: 700 as const, color: textColour },
  fact: { margin: '0 0 12px' },
  footer: { padding: '0 32px 24px' },
  footerText: { fontSize: '13px', lineHeight: '20px', margin: '0 0 6px', color: mutedColour },
  code: { fontFamily: 'ui-monospace, Menlo, Consolas, monospace', fontSize: '22px', letterSpacing: '2px', fontWeight: 700 as const },
} satisfies Record<string, CSSProperties>

/** Lets the templates' headings come through as they are in the plain-text version. */
export const htmlToTextOptions = {
  selectors: [
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
  ],
}

export function EmailLayout({
  organisation,
  preview,
  children,
  footerNote,
}: {
  organisation: Organisation
  /** The line inboxes show after the subject. */
  preview: string
  children: ReactNode
  /** Why the reader is getting this email, and how to stop, when that applies. */
  footerNote?: ReactNode
}) {
  return (
    <Html lang="en-GB" dir="ltr">
      <Head>
        <meta name="color-scheme" content="light" />
        <meta name="supported-color-schemes" content="light" />
      </Head>
      <Preview>{preview}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Section
            style={{
              backgroundColor: organisation.primaryColour,
              borderBottom: `4px solid ${organisation.accentColour}`,
              padding: '20px 32px',
            }}
          >
            <Text style={styles.headerName}>{organisation.name}</Text>
          </Section>
          <Section style={styles.content}>{children}</Section>
          <Section style={styles.footer}>
            <Hr style={{ borderTop: '1px solid #d6d6d6', margin: '0 0 16px' }} />
            {footerNote ? <Text style={styles.footerText}>{footerNote}</Text> : null}
            <Text style={styles.footerText}>
              {organisation.name}
              {organisation.contactEmail ? (
                <>
                  {' · Questions? Write to '}
                  <Link href={`mailto:${organisation.contactEmail}`} style={{ color: mutedColour, textDecoration: 'underline' }}>
                    {organisation.contactEmail}
                  </Link>
                </>
              ) : null}
            </Text>
            {organisation.charityNumber ? (
              <Text style={styles.footerText}>Registered charity number {organisation.charityNumber}</Text>
            ) : null}
            <Text style={styles.footerText}>We will never share your details.</Text>
          </Section>
        </Container>
      </Body>
    </Html>
  )
}

export function Heading({ children }: { children: ReactNode }) {
  return <h1 style={styles.heading}>{children}</h1>
}

export function Paragraph({ children }: { children: ReactNode }) {
  return <Text style={styles.text}>{children}</Text>
}

export function Greeting({ name }: { name: string | null }) {
  return <Paragraph>{name ? `Dear ${name},` : 'Hello,'}</Paragraph>
}

/** Paragraphs of text a person typed: split on blank lines, rendered as text, never as HTML. */
export function PlainTextParagraphs({ text }: { text: string }) {
  return (
    <>
      {paragraphs(text).map((paragraph, index) => (
        <Text key={index} style={styles.text}>
          <MultiLine text={paragraph} />
        </Text>
      ))}
    </>
  )
}

/** A list of labelled facts (a receipt, an event's details). Rows with no value are left out. */
export function Facts({ items }: { items: Array<[label: string, value: ReactNode] | null | false> }) {
  return (
    <Section style={{ margin: '8px 0 16px', padding: '16px 16px 4px', backgroundColor: '#f3f6f7' }}>
      {items.map((item) =>
        item ? (
          <Text key={item[0]} style={styles.fact}>
            <span style={styles.factLabel}>{item[0]}</span>
            <br />
            <span style={styles.factValue}>{item[1]}</span>
          </Text>
        ) : null,
      )}
    </Section>
  )
}

export function ActionButton({ href, colour, children }: { href: string; colour: string; children: ReactNode }) {
  return (
    <Section style={{ margin: '8px 0 24px' }}>
      <Button
        href={href}
        rel="noreferrer"
        style={{
          backgroundColor: colour,
          color: '#ffffff',
          fontSize: '16px',
          fontWeight: 700,
          padding: '12px 20px',
          borderRadius: '4px',
          textDecoration: 'none',
        }}
      >
        {children}
      </Button>
    </Section>
  )
}

/** A link written out in full, so readers can see where it goes and copy it. */
export function PlainLink({ href, children, colour }: { href: string; children?: ReactNode; colour?: string }) {
  return (
    <Link
      href={href}
      rel="noreferrer"
      // A written-out address may break anywhere, so a long one does not widen the email.
      style={{ color: colour ?? textColour, textDecoration: 'underline', ...(children ? {} : { wordBreak: 'break-all' as const }) }}
    >
      {children ?? href}
    </Link>
  )
}

export function Code({ children }: { children: ReactNode }) {
  return <span style={styles.code}>{children}</span>
}

// ---------------------------------------------------------------------------------------------
// Preview data shared by the templates

export const previewOrganisation: Organisation = {
  name: 'Sanad Justice Project',
  primaryColour: '#1f4e5f',
  accentColour: '#a63f24',
  contactEmail: 'hello@example.org',
  charityNumber: '1234567',
}

/** Fact rows for where an event happens: venue, address, access notes, online joining link. */
export function eventPlaceFacts(place: {
  venueName?: string | null
  venueAddress?: string | null
  accessNotes?: string | null
  onlineUrl?: string | null
}): Array<[string, ReactNode] | null> {
  return [
    place.venueName ? ['Venue', place.venueName] : null,
    place.venueAddress ? ['Address', <MultiLine key="address" text={place.venueAddress} />] : null,
    place.accessNotes ? ['Access', <MultiLine key="access" text={place.accessNotes} />] : null,
    place.onlineUrl ? ['Join online', <PlainLink key="online" href={place.onlineUrl} />] : null,
  ]
}

/** Text with its line breaks kept, as <br>s between escaped lines. */
export function MultiLine({ text }: { text: string }) {
  const lines = text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
  return (
    <>
      {lines.map((line, index) => (
        <Fragment key={index}>
          {index > 0 ? <br /> : null}
          {line}
        </Fragment>
      ))}
    </>
  )
}
