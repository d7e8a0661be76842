import { z } from 'zod'
import {
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatEventWhen,
  Greeting,
  Heading,
  httpUrl,
  isoDateTime,
  lineOfText,
  MultiLine,
  organisationSchema,
  Paragraph,
  personName,
  PlainLink,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z
  .object({
    organisation: organisationSchema,
    name: personName,
    eventTitle: lineOfText,
    eventUrl: httpUrl.nullish(),
    /** The registration's status when the event changed: what the email says about their place depends on it. */
    status: z.enum(['confirmed', 'held', 'offered', 'waitlisted']),
    /** What changed: `time` (start, end or zone), `place` (venue, address or mode), `online-link`. */
    changes: z.array(z.enum(['time', 'place', 'online-link'])).min(1),
    previousStartsAt: isoDateTime,
    previousEndsAt: isoDateTime,
    previousTimeZone: timeZoneSchema,
    startsAt: isoDateTime,
    endsAt: isoDateTime,
    timeZone: timeZoneSchema,
    mode: z.enum(['in_person', 'online']),
    venueName: z.string().trim().min(1).max(300).nullish(),
    venueAddress: z.string().trim().min(1).max(1000).nullish(),
    /** The joining link: only for people with a confirmed place. */
    onlineUrl: httpUrl.nullish(),
    /**
     * A signed link to the booking's page, where it can be cancelled after a confirmation. (Named
     * for what it was once labelled; the outbox keeps queued emails' props under this name.)
     */
    cancelUrl: httpUrl,
    /** Whether an updated calendar file (same UID, higher SEQUENCE) is attached. */
    hasCalendarAttachment: z.boolean().default(false),
  })
  .superRefine((value, ctx) => {
    // A second guard beside the caller's: the joining link and the calendar entry are for confirmed places only.
    if (value.status !== 'confirmed' && value.onlineUrl) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['onlineUrl'], message: 'Only a confirmed place gets the joining link' })
    }
    if (value.status !== 'confirmed' && value.hasCalendarAttachment) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['hasCalendarAttachment'], message: 'Only a confirmed place gets a calendar file' })
    }
  })
export type EventChangedProps = z.output<typeof schema>

export function subject(props: EventChangedProps) {
  return `The details of ${props.eventTitle} have changed`
}

function whatChanged(props: EventChangedProps) {
  const time = props.changes.includes('time')
  const place = props.changes.includes('place')
  if (time && place) return `${props.eventTitle} has a new time and a new place.`
  if (time) return `${props.eventTitle} has moved to a new time.`
  if (place) return props.mode === 'online' ? `${props.eventTitle} will now take place online.` : `${props.eventTitle} has moved to a new venue.`
  return `The online joining link for ${props.eventTitle} has changed.`
}

const placeStands: Record<EventChangedProps['status'], string> = {
  confirmed: 'Your place still stands, and you do not need to do anything.',
  held: 'Your place is still held for you while you finish paying.',
  offered: 'The place we offered you is still yours to claim, as before.',
  waitlisted: 'You are still on the waiting list, and we will email you if a place opens up.',
}

export function Component(props: EventChangedProps) {
  const { organisation } = props
  const timeChanged = props.changes.includes('time')
  const placeChanged = props.changes.includes('place')
  const when = formatEventWhen(props.startsAt, props.endsAt, props.timeZone)
  const online = props.mode === 'online'
  return (
    <EmailLayout organisation={organisation} preview={whatChanged(props)}>
      <Heading>The event details have changed</Heading>
      <Greeting name={props.name} />
      <Paragraph>{whatChanged(props)} Here is what is different.</Paragraph>
      <Facts
        items={[
          ['Event', props.eventTitle],
          timeChanged ? ['Old time', formatEventWhen(props.previousStartsAt, props.previousEndsAt, props.previousTimeZone)] : null,
          [timeChanged ? 'New time' : 'When', when],
          online ? [placeChanged ? 'Now' : 'Where', 'Online'] : null,
          !online && props.venueName ? [placeChanged ? 'New venue' : 'Venue', props.venueName] : null,
          !online && props.venueAddress ? ['Address', <MultiLine key="address" text={props.venueAddress} />] : null,
          props.onlineUrl
            ? [props.changes.includes('online-link') ? 'New joining link' : 'Join online', <PlainLink key="online" href={props.onlineUrl} />]
            : null,
        ]}
      />
      {online && !props.onlineUrl ? (
        <Paragraph>We send the joining link to everyone with a confirmed place.</Paragraph>
      ) : null}
      <Paragraph>{placeStands[props.status]}</Paragraph>
      {props.hasCalendarAttachment ? (
        <Paragraph>
          An updated calendar file is attached. Open it and your calendar will replace the old entry with the new details.
        </Paragraph>
      ) : null}
      {props.eventUrl ? (
        <Paragraph>
          Event details: <PlainLink href={props.eventUrl} />
        </Paragraph>
      ) : null}
      <Paragraph>
        {props.status === 'waitlisted' ? (
          <>
            If the new details do not suit you, you can leave the waiting list from your booking:{' '}
            <PlainLink href={props.cancelUrl}>manage my booking</PlainLink>
          </>
        ) : (
          <>
            If the new details do not suit you, please cancel from your booking, so that someone else can have your
            place: <PlainLink href={props.cancelUrl}>manage my booking</PlainLink>
          </>
        )}
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  eventTitle: 'Witness: an evening with former detainees',
  eventUrl: 'https://example.org/events/witness-evening',
  status: 'confirmed',
  changes: ['time', 'place'],
  previousStartsAt: '2026-03-14T18:30:00.000Z',
  previousEndsAt: '2026-03-14T20:30:00.000Z',
  previousTimeZone: 'Europe/London',
  startsAt: '2026-03-21T19:00:00.000Z',
  endsAt: '2026-03-21T21:00:00.000Z',
  timeZone: 'Europe/London',
  mode: 'in_person',
  venueName: 'Conway Hall, Main Hall',
  venueAddress: '25 Red Lion Square\nLondon WC1R 4RL',
  onlineUrl: null,
  cancelUrl: 'https://example.org/registrations/preview-registration?signature=preview-signature',
  hasCalendarAttachment: true,
}

export default defineEmailTemplate({ schema, subject, Component, previewProps, batch: { personalised: ['name', 'cancelUrl'] } })
