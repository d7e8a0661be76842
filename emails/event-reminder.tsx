import { z } from 'zod'
import { formatEventDate } from '#app/utils/dates.ts'
import {
  Code,
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
    /** The registration's check-in code, when it has one. */
    checkinCode: z.string().trim().min(1).max(64).nullish(),
    /** Whether the QR code of the signed check-in code is attached as check-in.png, as in the confirmation. */
    hasQrAttachment: z.boolean().default(false),
    /**
     * A signed link to the booking's page, where it can be cancelled after a confirmation. (Named
     * for what it was once labelled; the outbox keeps queued emails' props under this name.)
     */
    cancelUrl: httpUrl,
  })
  .superRefine(requireVenueOrOnline)
export type EventReminderProps = z.output<typeof schema>

export function subject(props: EventReminderProps) {
  return `Reminder: ${props.eventTitle}, ${formatEventDate(props.startsAt, props.timeZone)}`
}

export function Component(props: EventReminderProps) {
  const { organisation } = props
  const when = formatEventWhen(props.startsAt, props.endsAt, props.timeZone)
  return (
    <EmailLayout organisation={organisation} preview={`${when}.`}>
      <Heading>See you soon</Heading>
      <Greeting name={props.name} />
      <Paragraph>This is a reminder that you have a place at {props.eventTitle}.</Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', when],
          ...eventPlaceFacts(props),
          props.checkinCode ? ['Check-in code', <Code key="code">{props.checkinCode}</Code>] : null,
        ]}
      />
      {props.checkinCode && props.hasQrAttachment ? (
        <Paragraph>
          When you arrive, show the attached QR code (check-in.png), or this code: {props.checkinCode}.
        </Paragraph>
      ) : props.checkinCode ? (
        <Paragraph>Show or tell us your check-in code when you arrive.</Paragraph>
      ) : props.onlineUrl && !props.venueName ? (
        // Online: no door, no code; the joining link is in the facts above.
        <Paragraph>This event is online: when it starts, join with the link above.</Paragraph>
      ) : null}
      {props.eventUrl ? (
        <Paragraph>
          Event details: <PlainLink href={props.eventUrl} />
        </Paragraph>
      ) : null}
      <Paragraph>
        If you can no longer come, please cancel from your booking so that someone else can have your place:{' '}
        <PlainLink href={props.cancelUrl}>manage my booking</PlainLink>
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  eventTitle: 'Briefing: the rights of returning detainees',
  eventUrl: 'https://example.org/events/returning-detainees-briefing',
  startsAt: '2026-07-02T17:00:00.000Z',
  endsAt: '2026-07-02T18:00:00.000Z',
  timeZone: 'Europe/London',
  venueName: null,
  venueAddress: null,
  accessNotes: 'Live captions are provided.',
  onlineUrl: 'https://meet.example.org/briefing-returning-detainees',
  checkinCode: null,
  cancelUrl: 'https://example.org/registrations/cancel?token=preview-token',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps, batch: { personalised: ['name', 'cancelUrl', 'checkinCode'] } })
