import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  organisationSchema,
  Paragraph,
  personName,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

/**
 * Someone registered this address for an event it already has a place for (or is waiting for).
 * The registration form answers the same whether or not the address was registered
 * (docs/decisions/021), so this email is where the owner of the address learns it, with the link
 * to their place. It never says who asked.
 */
export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  eventTitle: lineOfText,
  eventUrl: httpUrl,
  startsAt: isoDateTime,
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
  status: z.enum(['confirmed', 'waitlisted', 'offered', 'held']),
  manageUrl: httpUrl,
})
export type RegistrationExistsProps = z.output<typeof schema>

const STATUS_TEXT: Record<RegistrationExistsProps['status'], string> = {
  confirmed: 'You already have a place at this event.',
  waitlisted: 'You are already on the waiting list for this event.',
  offered: 'A place at this event is already waiting for you to claim it.',
  held: 'A place at this event is already being held for you while the payment is made.',
}

export function subject(props: RegistrationExistsProps) {
  return `You are already registered: ${props.eventTitle}`
}

export function Component(props: RegistrationExistsProps) {
  const { organisation } = props
  return (
    <EmailLayout organisation={organisation} preview="Here is your link to see or change your place.">
      <Heading>You are already registered</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        Someone, probably you, has just used this email address to register for {props.eventTitle}. {STATUS_TEXT[props.status]}{' '}
        Nothing new has been booked. Use the button below to see your registration, or to cancel it.
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
        ]}
      />
      <ActionButton href={props.manageUrl} colour={organisation.primaryColour}>
        See my registration
      </ActionButton>
      <Paragraph>If this was not you, you can ignore this email: your place has not changed.</Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Bilal',
  eventTitle: 'Witness: an evening with former detainees',
  eventUrl: 'https://example.org/events/witness-evening',
  startsAt: '2026-03-14T18:30:00.000Z',
  endsAt: '2026-03-14T20:30:00.000Z',
  timeZone: 'Europe/London',
  status: 'confirmed',
  manageUrl: 'https://example.org/registrations/00000000-0000-4000-8000-000000000000?signature=preview',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
