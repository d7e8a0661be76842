import { z } from 'zod'
import {
  currencySchema,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  minorUnits,
  money,
  Paragraph,
  PlainLink,
  previewOrganisation,
  requireCurrencyForRefund,
  registrationEmailFields,
} from '#emails/layout.tsx'

export const schema = z
  .object({
    ...registrationEmailFields,
    /** What will be refunded; 0 or absent when nothing was paid or nothing is refunded. */
    refundMinor: minorUnits.nullish(),
    /** A paid place cancelled too close to the event: no refund, and this many days is the rule. */
    notRefundedWithinDays: z.number().int().min(0).nullish(),
    currency: currencySchema.nullish(),
    /** Who ended it: the person, or we did because the payment came after the last place had gone. */
    reason: z.enum(['cancelled-by-you', 'no-place-left']).default('cancelled-by-you'),
    /**
     * What became of the place, said only as it happened: offered to someone on the waitlist,
     * free for anyone to book, or there was none (the person was waiting, or still paying).
     * Absent in emails queued before it existed.
     */
    afterwards: z.enum(['offered', 'freed', 'no-place']).nullish(),
  })
  .superRefine(requireCurrencyForRefund)
export type RegistrationCancelledProps = z.output<typeof schema>

export function subject(props: RegistrationCancelledProps) {
  if (props.reason === 'no-place-left') return `Sorry, no place was left: ${props.eventTitle}`
  return `Your registration is cancelled: ${props.eventTitle}`
}

export function Component(props: RegistrationCancelledProps) {
  const { organisation } = props
  const refund = props.refundMinor && props.currency ? money(props.refundMinor, props.currency) : null
  return (
    <EmailLayout organisation={organisation} preview={props.afterwards === 'no-place' ? 'Your registration is cancelled.' : 'Your place has been released.'}>
      <Heading>{props.reason === 'no-place-left' ? 'Sorry: no place was left' : 'Your registration is cancelled'}</Heading>
      <Greeting name={props.name} />
      {props.reason === 'no-place-left' ? (
        <Paragraph>
          Your payment for {props.eventTitle} reached us after the time we could hold your place, and by then the last
          place had gone. We are sorry. We have not kept your money: the refund is already on its way.
        </Paragraph>
      ) : (
        <Paragraph>
          We have cancelled your registration for {props.eventTitle}
          {props.afterwards === 'offered'
            ? ', and your place has been offered to the next person on the waiting list.'
            : props.afterwards === 'freed'
              ? ', and your place is free again for someone else to book.'
              : props.afterwards === 'no-place'
                ? '.'
                : ', and your place has been released.'}{' '}
          Thank you for letting us know.
        </Paragraph>
      )}
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
      {!refund && props.notRefundedWithinDays != null ? (
        <Paragraph>
          As the event is less than {props.notRefundedWithinDays} days away, the ticket is not refunded. If this causes you
          hardship, please get in touch with us.
        </Paragraph>
      ) : null}
      {props.reason === 'no-place-left' ? null : (
        <Paragraph>If this was a mistake, you are welcome to register again while places are available.</Paragraph>
      )}
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
  afterwards: 'offered',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
