import { z } from 'zod'
import {
  currencySchema,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  isoDateTime,
  lineOfText,
  minorUnits,
  money,
  organisationSchema,
  Paragraph,
  personName,
  plainTextBody,
  PlainTextParagraphs,
  previewOrganisation,
  requireCurrencyForRefund,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z
  .object({
    organisation: organisationSchema,
    name: personName,
    eventTitle: lineOfText,
    startsAt: isoDateTime,
    endsAt: isoDateTime.nullish(),
    timeZone: timeZoneSchema,
    organiserName: lineOfText.nullish(),
    /** The organiser's own words, as plain text; paragraphs are separated by blank lines. */
    message: plainTextBody.nullish(),
    /** What will be refunded; 0 or absent when nothing was paid. */
    refundMinor: minorUnits.nullish(),
    currency: currencySchema.nullish(),
  })
  .superRefine(requireCurrencyForRefund)
export type EventCancelledProps = z.output<typeof schema>

export function subject(props: EventCancelledProps) {
  return `Cancelled: ${props.eventTitle}`
}

export function Component(props: EventCancelledProps) {
  const { organisation } = props
  const refund = props.refundMinor && props.currency ? money(props.refundMinor, props.currency) : null
  return (
    <EmailLayout organisation={organisation} preview="We are sorry: this event will not go ahead.">
      <Heading>This event is cancelled</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        We are sorry to tell you that {props.eventTitle} has been cancelled and will not go ahead. You do not need to
        do anything.
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['Was due to start', formatEventWhen(props.startsAt, null, props.timeZone)],
          refund ? ['Refund', refund] : null,
        ]}
      />
      {props.message ? (
        <>
          <Paragraph>
            <strong>A message from {props.organiserName ?? organisation.name}:</strong>
          </Paragraph>
          <PlainTextParagraphs text={props.message} />
        </>
      ) : null}
      {refund ? (
        <Paragraph>
          We are refunding {refund} to the card you paid with. It usually reaches your account within 5 to 10 working
          days.
        </Paragraph>
      ) : null}
      <Paragraph>Thank you for your support, and we hope to see you at another event soon.</Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  eventTitle: 'Witness: an evening with former detainees',
  startsAt: '2026-03-14T18:30:00.000Z',
  endsAt: '2026-03-14T20:30:00.000Z',
  timeZone: 'Europe/London',
  organiserName: 'Sanad Justice Project',
  message:
    'One of our speakers cannot travel this week, and we would rather postpone than go ahead without him.\n\nWe will announce a new date soon, and everyone who registered will hear first.',
  refundMinor: 1000,
  currency: 'GBP',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps, batch: { personalised: ['name'] } })
