import { z } from 'zod'
import { DEFAULT_TIME_ZONE } from '#app/utils/time-zone.ts'
import {
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
  PlainLink,
  previewOrganisation,
  timeZoneSchema,
} from '#emails/layout.tsx'

export const schema = z.object({
  organisation: organisationSchema,
  name: personName,
  amountMinor: minorUnits.positive(),
  /** What the donor adds each month to cover card fees; 0 when they do not. */
  feeCoverMinor: minorUnits.default(0),
  /** What Stripe charged, when known; the receipt's total. Absent: the gift and fee cover. */
  chargedMinor: minorUnits.optional(),
  currency: currencySchema,
  appealTitle: lineOfText,
  appealUrl: httpUrl,
  /** This instalment's donation id, shown as the receipt reference. */
  donationId: z.string().trim().min(1).max(100),
  /** When this month's gift was taken. */
  instalmentDate: isoDateTime,
  /** When the next one is due, if known. */
  nextInstalmentDate: isoDateTime.nullish(),
  giftAid: z.boolean(),
  /** A signed link that stops the monthly gift. */
  stopUrl: httpUrl,
  timeZone: timeZoneSchema.default(DEFAULT_TIME_ZONE),
})
export type MonthlyGiftReceiptProps = z.output<typeof schema>

export function subject(props: MonthlyGiftReceiptProps) {
  return `Your monthly gift of ${money(props.chargedMinor ?? props.amountMinor + props.feeCoverMinor, props.currency)}: receipt for ${formatDayInZone(props.instalmentDate, props.timeZone)}`
}

export function Component(props: MonthlyGiftReceiptProps) {
  const { organisation, currency } = props
  const chosenMinor = props.amountMinor + props.feeCoverMinor
  const total = money(props.chargedMinor ?? chosenMinor, currency)
  return (
    <EmailLayout
      organisation={organisation}
      preview={`This month's receipt for ${total} to ${props.appealTitle}.`}
    >
      <Heading>Thank you for giving every month</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        We have received this month&apos;s gift of {money(props.amountMinor, currency)} to {props.appealTitle}.
        Giving every month lets us plan ahead, and it makes a real difference. Please keep this email as your
        receipt.
      </Paragraph>
      {props.chargedMinor !== undefined && props.chargedMinor !== chosenMinor ? (
        <Paragraph>
          The amount charged this month, {total}, is not the {money(chosenMinor, currency)} you chose. If that is not what you
          expected, please reply to this email and we will put it right.
        </Paragraph>
      ) : null}
      <Facts
        items={[
          ['Appeal', props.appealTitle],
          ['Your monthly gift', money(props.amountMinor, currency)],
          props.feeCoverMinor > 0 ? ['Card fees you covered', money(props.feeCoverMinor, currency)] : null,
          ['Total charged', total],
          ['Instalment date', formatDayInZone(props.instalmentDate, props.timeZone)],
          props.nextInstalmentDate ? ['Next gift due', formatDayInZone(props.nextInstalmentDate, props.timeZone)] : null,
          ['Reference', props.donationId],
          props.giftAid ? ['Gift Aid', 'Declared'] : null,
          organisation.charityNumber ? ['Charity number', organisation.charityNumber] : null,
        ]}
      />
      {props.giftAid ? (
        <Paragraph>
          You made a Gift Aid declaration, so we can claim Gift Aid on your gifts from HMRC at no cost to you. Please
          tell us if you stop paying enough Income Tax or Capital Gains Tax, or change your name or address.
        </Paragraph>
      ) : null}
      <Paragraph>
        Appeal page: <PlainLink href={props.appealUrl} />
      </Paragraph>
      <Paragraph>
        If you need to stop your monthly gift, you can do it here, with no questions asked:{' '}
        <PlainLink href={props.stopUrl}>stop my monthly gift</PlainLink>
      </Paragraph>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  amountMinor: 1000,
  feeCoverMinor: 0,
  currency: 'GBP',
  appealTitle: 'Medical care for Karim',
  appealUrl: 'https://example.org/appeals/medical-care-karim',
  donationId: 'b3e9f0a1-2c4d-4e6f-8a9b-1c2d3e4f5a6b',
  instalmentDate: '2026-04-01T09:12:00.000Z',
  nextInstalmentDate: '2026-05-01T09:12:00.000Z',
  giftAid: false,
  stopUrl: 'https://example.org/giving/monthly/stop?token=preview-token',
  timeZone: 'Europe/London',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
