import { z } from 'zod'
import {
  ActionButton,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  organisationSchema,
  Paragraph,
  PlainLink,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  /** A reminder a day before, or word that only a few places are left. */
  kind: z.enum(['reminder', 'few-places']),
  eventTitle: lineOfText,
  eventUrl: httpUrl,
  startsAt: isoDateTime,
  endsAt: isoDateTime.nullish(),
  timeZone: timeZoneSchema,
  /** "Online" or the venue's name: never an online joining link, which only registered people get. */
  where: lineOfText,
  placesLeft: z.number().int().min(0).nullish(),
  /** A signed link that turns these alerts off with one click. */
  unsubscribeUrl: httpUrl,
})
export type SavedEventAlertProps = z.output<typeof schema>

function placesText(placesLeft: number | null | undefined) {
  if (!placesLeft) return 'only a few places'
  return placesLeft === 1 ? 'only 1 place' : `only ${placesLeft} places`
}

export function subject(props: SavedEventAlertProps) {
  if (props.kind === 'few-places') return `${capitalise(placesText(props.placesLeft))} left: ${props.eventTitle}`
  return `Tomorrow: ${props.eventTitle}`
}

function capitalise(text: string) {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

export function Component(props: SavedEventAlertProps) {
  const { organisation } = props
  const when = formatEventWhen(props.startsAt, props.endsAt, props.timeZone)
  return (
    <EmailLayout
      organisation={organisation}
      preview={`${when}.`}
      footerNote={
        <>
          You are getting this because you saved this event and asked for alerts.{' '}
          <PlainLink href={props.unsubscribeUrl} colour="#4a4a4a">
            Turn off these alerts
          </PlainLink>
        </>
      }
    >
      {props.kind === 'few-places' ? (
        <>
          <Heading>Only a few places left</Heading>
          <Paragraph>
            You saved {props.eventTitle}, and there are {placesText(props.placesLeft)} left. If you would like to come,
            now is the time to register.
          </Paragraph>
        </>
      ) : (
        <>
          <Heading>Coming up tomorrow</Heading>
          <Paragraph>A reminder of an event you saved: {props.eventTitle}.</Paragraph>
        </>
      )}
      <Facts
        items={[
          ['Event', props.eventTitle],
          ['When', when],
          ['Where', props.where],
          props.kind === 'few-places' && props.placesLeft ? ['Places left', String(props.placesLeft)] : null,
        ]}
      />
      <ActionButton href={props.eventUrl} colour={organisation.primaryColour}>
        See the event
      </ActionButton>
      <Paragraph>
        Or copy this address into your browser: <PlainLink href={props.eventUrl} />
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  kind: 'few-places',
  eventTitle: 'Witness: an evening with former detainees',
  eventUrl: 'https://example.org/events/witness-evening',
  startsAt: '2026-03-14T18:30:00.000Z',
  endsAt: '2026-03-14T20:30:00.000Z',
  timeZone: 'Europe/London',
  where: 'Friends Meeting House, Room 3',
  placesLeft: 4,
  unsubscribeUrl: 'https://example.org/saved/alerts/off?saver=preview&signature=preview-signature',
}

/** Sent to many at once: in batches, its people's own values put into one rendering (emails/index.ts). */
const batch = { personalised: ['unsubscribeUrl'] } as const

export default defineEmailTemplate({ schema, subject, Component, previewProps, unsubscribeUrl: (props) => props.unsubscribeUrl, batch })
