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
  eventUrl: httpUrl,
  startsAt: isoDateTime,
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
  /** The registration's page (see or leave the waitlist). Absent in emails queued before it existed. */
  manageUrl: httpUrl.nullish(),
  /**
   * The link that confirms the address, and its deadline: a waitlist entry counts only once
   * confirmed (ADR 023). Null once confirmed (a resent email), and in emails queued before.
   */
  confirmUrl: httpUrl.nullish(),
  confirmBy: isoDateTime.nullish(),
})
export type WaitlistJoinedProps = z.output<typeof schema>

export function subject(props: WaitlistJoinedProps) {
  if (props.confirmUrl) return `Confirm your place on the waiting list: ${props.eventTitle}`
  return `You're on the waiting list: ${props.eventTitle}`
}

export function Component(props: WaitlistJoinedProps) {
  const { organisation } = props
  return (
    <EmailLayout
      organisation={organisation}
      preview={props.confirmUrl ? 'Confirm your email address to keep your place in the queue.' : 'We will email you if a place opens up.'}
    >
      <Heading>{props.confirmUrl ? 'Confirm your place on the waiting list' : <>You&apos;re on the waiting list</>}</Heading>
      <Greeting name={props.name} />
      {props.confirmUrl ? (
        <>
          <Paragraph>
            {props.eventTitle} is full at the moment. To join the waiting list, please confirm that this is your email
            address{props.confirmBy ? ` by ${formatInstantInZone(props.confirmBy, props.timeZone)}` : ''}. Until you
            do, you are not in the queue, and if you do not, your request lapses.
          </Paragraph>
          <ActionButton href={props.confirmUrl} colour={organisation.primaryColour}>
            Confirm my place on the waiting list
          </ActionButton>
          <Paragraph>
            Once you have confirmed, if a place opens up we will email you straight away with a link to claim it.
            Places are offered in the order people confirmed.
          </Paragraph>
        </>
      ) : (
        <Paragraph>
          {props.eventTitle} is full at the moment, so we have added you to the waiting list. If a place opens up, we
          will email you straight away with a link to claim it. Places are offered in the order people joined the list.
        </Paragraph>
      )}
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', formatEventWhen(props.startsAt, props.endsAt, props.timeZone)],
        ]}
      />
      {props.confirmUrl ? null : <Paragraph>You do not need to do anything for now.</Paragraph>}
      {props.manageUrl ? (
        <Paragraph>
          Your booking, where you can leave the waiting list: <PlainLink href={props.manageUrl}>manage my booking</PlainLink>
        </Paragraph>
      ) : null}
      <Paragraph>
        Event details: <PlainLink href={props.eventUrl} />
      </Paragraph>
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
  manageUrl: 'https://example.org/registrations/3f2c9a1e-0000-4000-8000-000000000000?signature=preview-signature',
  confirmUrl: 'https://example.org/registrations/3f2c9a1e-0000-4000-8000-000000000000?signature=preview-signature&confirm=preview-confirm',
  confirmBy: '2026-03-13T18:30:00.000Z',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
