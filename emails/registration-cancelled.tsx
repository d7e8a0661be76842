import { z } from 'zod'
import {
  currencySchema,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  minorUnits,
  money,
  organisationSchema,
  Paragraph,
  personName,
  PlainLink,
  previewOrganisation,
  requireCurrencyForRefund,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z
  .object({
    organisation: organisationSchema,
    name: personName,
    eventTitle: lineOfText,
    eventUrl: httpUrl.nullish(),
    startsAt: isoDateTime,
    endsAt: isoDateTime.nullish(),
    timeZone: timeZoneSchema,
    /** What will be refunded; 0 or absent when nothing was paid or nothing is refunded. */
    refundMinor: minorUnits.nullish(),
    currency: currencySchema.nullish(),
  })
  .superRefine(requireCurrencyForRefund)
export type RegistrationCancelledProps = z.output<typeof schema>

export function subject(props: RegistrationCancelledProps) {
  return `Your registration is cancelled: ${props.eventTitle}`
}

export function Component(props: RegistrationCancelledProps) {
  const { organisation } = props
  const refund = props.refundMinor && props.currency ? money(props.refundMinor, props.currency) : null
  return (
    <EmailLayout organisation={organisation} preview="Your place has been released.">
      <Heading>Your registration is cancelled</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        We have cancelled your registration for {props.eventTitle}, and your place has gone back to be offered to
        someone else. Thank you for letting us know.
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
          refund ? ['Refund', refund] : null,
        ]}
      />
      {refund ? (
        <Paragraph>
          We are refunding {refund} to the card you paid with. It usually reaches your account within 5 to 10 working
          days.
        </Paragraph>
      ) : null}
      <Paragraph>If this was a mistake, you are welcome to register again while places are available.</Paragraph>
      {props.eventUrl ? (
        <Paragraph>
          Event details: <PlainLink href={props.eventUrl} />
        </Paragraph>
      ) : null}
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
  refundMinor: 1000,
  currency: 'GBP',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
