import { z } from 'zod'
import {
  Code,
  currencySchema,
  defineEmailTemplate,
  EmailLayout,
  eventPlaceFacts,
  eventPlaceFields,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  minorUnits,
  money,
  Paragraph,
  PlainLink,
  previewOrganisation,
  requireVenueOrOnline,
  registrationEmailFields,
} from '#emails/layout.tsx'

export const schema = z
  .object({
    ...registrationEmailFields,
    endsAt: isoDateTime,
    ...eventPlaceFields,
    ticketTypeName: lineOfText,
    quantity: z.number().int().min(1).max(1000),
    /** What was paid in all; 0 for a free place. */
    amountPaidMinor: minorUnits,
    currency: currencySchema,
    /**
     * A signed link to the booking's page, where it can be cancelled after a confirmation. (Named
     * for what it was once labelled; the outbox keeps queued emails' props under this name.)
     */
    cancelUrl: httpUrl,
    /** A short token shown at the door, which staff can also type in. */
    checkinCode: z.string().trim().min(1).max(64),
    /**
     * Whether a QR code of the signed check-in code is attached as check-in.png. It is attached,
     * not shown inline, because our attachments cannot carry a content id and a remote image
     * would tell a third party when the email is opened.
     */
    hasQrAttachment: z.boolean().default(false),
    /** An online event: joining words, not "when you arrive" (emails queued before this say false). */
    online: z.boolean().default(false),
  })
  .superRefine(requireVenueOrOnline)
export type RegistrationConfirmedProps = z.output<typeof schema>

export function subject(props: RegistrationConfirmedProps) {
  return `Your place is confirmed: ${props.eventTitle}`
}

export function Component(props: RegistrationConfirmedProps) {
  const { organisation } = props
  const places = props.quantity === 1 ? 'a place' : `${props.quantity} places`
  return (
    <EmailLayout organisation={organisation} preview={`${formatEventWhen(props.startsAt, props.endsAt, props.timeZone)}.`}>
      <Heading>You&apos;re booked</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        You have {places} at {props.eventTitle}. {props.online ? 'We look forward to seeing you online.' : 'We look forward to seeing you.'}
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
          ...eventPlaceFacts(props),
          ['Ticket', props.quantity === 1 ? props.ticketTypeName : `${props.ticketTypeName} × ${props.quantity}`],
          ['Paid', props.amountPaidMinor > 0 ? money(props.amountPaidMinor, props.currency) : 'Free'],
          ['Check-in code', <Code key="code">{props.checkinCode}</Code>],
        ]}
      />
      {props.online ? (
        <Paragraph>
          This event is online: when it starts, join with the link above. There is nothing to show on the day. A calendar
          file is attached to this email.
        </Paragraph>
      ) : props.hasQrAttachment ? (
        <Paragraph>
          When you arrive, show the attached QR code (check-in.png), or this code: {props.checkinCode}. A calendar file is
          attached to this email too.
        </Paragraph>
      ) : (
        <Paragraph>Show or tell us your check-in code when you arrive. A calendar file is attached to this email.</Paragraph>
      )}
      {props.eventUrl ? (
        <Paragraph>
          Event details: <PlainLink href={props.eventUrl} />
        </Paragraph>
      ) : null}
      <Paragraph>
        Your booking, where you can see your place or cancel it if you can&apos;t come after all (so someone else can
        have it): <PlainLink href={props.cancelUrl}>manage my booking</PlainLink>
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  eventTitle: 'Witness: an evening with former detainees',
  eventUrl: 'https://example.org/events/witness-evening',
  startsAt: '2026-03-14T18:30:00.000Z',
  endsAt: '2026-03-14T20:30:00.000Z',
  timeZone: 'Europe/London',
  venueName: 'Friends Meeting House, Room 3',
  venueAddress: '173 Euston Road\nLondon NW1 2BJ',
  accessNotes: 'Step-free entrance on Euston Road. A hearing loop is fitted in Room 3.',
  onlineUrl: null,
  ticketTypeName: 'Pay what you can',
  quantity: 2,
  amountPaidMinor: 1000,
  currency: 'GBP',
  cancelUrl: 'https://example.org/registrations/cancel?token=preview-token',
  checkinCode: 'K7P-4QX',
  hasQrAttachment: true,
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
