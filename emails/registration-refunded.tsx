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
  minorUnits,
  money,
  Paragraph,
  PlainLink,
  previewOrganisation,
  registrationEmailFields,
} from '#emails/layout.tsx'

/**
 * A refund we did not start ourselves (made in Stripe's dashboard): our own refunds (a
 * cancellation, a cancelled event, a payment with no place left) say so in their own emails.
 */
export const schema = z
  .object({
    ...registrationEmailFields,
    /** This refund alone. */
    refundMinor: minorUnits.positive(),
    /** Everything refunded so far, this refund included. */
    totalRefundedMinor: minorUnits.positive(),
    currency: currencySchema,
    /** A full refund ends the place; a partial one leaves it booked. */
    placeReleased: z.boolean(),
    /** The person's signed registration page. */
    manageUrl: httpUrl,
  })
  .superRefine((value, ctx) => {
    if (value.totalRefundedMinor < value.refundMinor) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['totalRefundedMinor'], message: 'Must include refundMinor' })
    }
  })
export type RegistrationRefundedProps = z.output<typeof schema>

export function subject(props: RegistrationRefundedProps) {
  return `${money(props.refundMinor, props.currency)} refunded: ${props.eventTitle}`
}

export function Component(props: RegistrationRefundedProps) {
  const { organisation } = props
  const refund = money(props.refundMinor, props.currency)
  const earlier = props.totalRefundedMinor > props.refundMinor
  return (
    <EmailLayout
      organisation={organisation}
      preview={props.placeReleased ? 'Your place has been released.' : 'Your place is still booked.'}
    >
      <Heading>We have refunded {refund}</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        We have refunded {refund} for your registration for {props.eventTitle}. It goes back to the card you paid with,
        and usually reaches your account within 5 to 10 working days.
      </Paragraph>
      {props.placeReleased ? (
        <Paragraph>
          As your payment has been refunded in full, your place has been released and offered to someone else.
        </Paragraph>
      ) : (
        <Paragraph>This was part of your payment, so your place is still booked and we look forward to seeing you.</Paragraph>
      )}
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
          ['Refund', refund],
          earlier ? ['Refunded in all', money(props.totalRefundedMinor, props.currency)] : null,
          ['Your place', props.placeReleased ? 'Released' : 'Still booked'],
        ]}
      />
      <Paragraph>
        Your registration: <PlainLink href={props.manageUrl} />
      </Paragraph>
      {organisation.contactEmail ? (
        <Paragraph>
          If you did not expect this refund, or have any questions, please write to us at{' '}
          <PlainLink href={`mailto:${organisation.contactEmail}`}>{organisation.contactEmail}</PlainLink>.
        </Paragraph>
      ) : null}
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
  refundMinor: 500,
  totalRefundedMinor: 500,
  currency: 'GBP',
  placeReleased: false,
  manageUrl: 'https://example.org/registrations/3f2c9a1e-0000-4000-8000-000000000000?signature=preview-signature',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
