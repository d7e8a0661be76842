import { z } from 'zod'
import { DEFAULT_TIME_ZONE } from '#app/utils/time-zone.ts'
import {
  ActionButton,
  currencySchema,
  defineEmailTemplate,
  EmailLayout,
  Facts,
  formatDayInZone,
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
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  amountMinor: minorUnits.positive(),
  currency: currencySchema,
  appealTitle: lineOfText,
  appealUrl: httpUrl,
  stoppedAt: isoDateTime,
  timeZone: timeZoneSchema.default(DEFAULT_TIME_ZONE),
})
export type MonthlyGiftCancelledProps = z.output<typeof schema>

export function subject(props: MonthlyGiftCancelledProps) {
  return `Your monthly gift to ${props.appealTitle} has stopped`
}

export function Component(props: MonthlyGiftCancelledProps) {
  const { organisation } = props
  return (
    <EmailLayout organisation={organisation} preview="No more monthly payments will be taken.">
      <Heading>Your monthly gift has stopped</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        Your monthly gift of {money(props.amountMinor, props.currency)} to {props.appealTitle} has stopped, and no
        more payments will be taken. Thank you for everything you have given.
      </Paragraph>
      <Facts
        items={[
          ['Appeal', props.appealTitle],
          ['Monthly gift', money(props.amountMinor, props.currency)],
          ['Stopped on', formatDayInZone(props.stoppedAt, props.timeZone)],
        ]}
      />
      <Paragraph>
        If you did not mean to stop it, or would like to give again one day, you can do so from the appeal page.
      </Paragraph>
      <ActionButton href={props.appealUrl} colour={organisation.primaryColour}>
        See the appeal
      </ActionButton>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  amountMinor: 1000,
  currency: 'GBP',
  appealTitle: 'Medical care for Karim',
  appealUrl: 'https://example.org/appeals/medical-care-karim',
  stoppedAt: '2026-06-02T10:05:00.000Z',
  timeZone: 'Europe/London',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
