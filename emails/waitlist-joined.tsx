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
  PlainLink,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  eventTitle: lineOfText,
  eventUrl: httpUrl,
  startsAt: isoDateTime,
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
  /** The person's own page (leave the list); the form no longer shows it (docs/decisions/021). */
  manageUrl: httpUrl.nullish(),
})
export type WaitlistJoinedProps = z.output<typeof schema>

export function subject(props: WaitlistJoinedProps) {
  return `You're on the waiting list: ${props.eventTitle}`
}

export function Component(props: WaitlistJoinedProps) {
  const { organisation } = props
  return (
    <EmailLayout organisation={organisation} preview="We will email you if a place opens up.">
      <Heading>You&apos;re on the waiting list</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        {props.eventTitle} is full at the moment, so we have added you to the waiting list. If a place opens up, we
        will email you straight away with a link to claim it. Places are offered in the order people joined the list.
      </Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
        ]}
      />
      <Paragraph>You do not need to do anything for now.</Paragraph>
      {props.manageUrl ? (
        <Paragraph>
          If you can no longer come, <PlainLink href={props.manageUrl}>leave the waiting list</PlainLink>.
        </Paragraph>
      ) : null}
      <ActionButton href={props.eventUrl} colour={organisation.primaryColour}>
        See the event
      </ActionButton>
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
  manageUrl: 'https://example.org/registrations/00000000-0000-4000-8000-000000000000?signature=preview',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
