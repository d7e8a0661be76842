import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  formatInstantInZone,
  Greeting,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  organisationSchema,
  Paragraph,
  personName,
  PlainLink,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  eventTitle: lineOfText,
  /** A signed link that claims the place. */
  claimUrl: httpUrl,
  /** When the offer lapses; shown in the event's time zone. */
  offerExpiresAt: isoDateTime,
  startsAt: isoDateTime.nullish(),
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
})
export type PlaceOfferedProps = z.output<typeof schema>

export function subject(props: PlaceOfferedProps) {
  return `A place has opened up: ${props.eventTitle}`
}

export function Component(props: PlaceOfferedProps) {
  const { organisation } = props
  const deadline = formatInstantInZone(props.offerExpiresAt, props.timeZone)
  return (
    <EmailLayout organisation={organisation} preview={`Claim it by ${deadline}.`}>
      <Heading>A place has opened up</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        Good news: a place has opened up at {props.eventTitle}, and it is yours if you want it. We will hold it for
        you until {deadline}. After that we will offer it to the next person on the waiting list.
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          props.startsAt ? ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)] : null,
          ['Claim by', deadline],
        ]}
      />
      <ActionButton href={props.claimUrl} colour={organisation.primaryColour}>
        Claim your place
      </ActionButton>
      <Paragraph>
        If the button does not work, copy this address into your browser: <PlainLink href={props.claimUrl} />
      </Paragraph>
      <Paragraph>If you can no longer come, you do not need to do anything.</Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Bilal',
  eventTitle: 'Witness: an evening with former detainees',
  claimUrl: 'https://example.org/registrations/claim?token=preview-token',
  offerExpiresAt: '2026-03-12T18:00:00.000Z',
  startsAt: '2026-03-14T18:30:00.000Z',
  endsAt: '2026-03-14T20:30:00.000Z',
  timeZone: 'Europe/London',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
