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
  /** What the donor added to cover card fees; 0 when they did not. */
  feeCoverMinor: minorUnits.default(0),
  /** What Stripe charged, when known; the receipt's total. Absent: the gift and fee cover. */
  chargedMinor: minorUnits.optional(),
  currency: currencySchema,
  appealTitle: lineOfText,
  appealUrl: httpUrl,
  /** The donation's id, shown as the receipt reference. */
  donationId: z.string().trim().min(1).max(100),
  donatedAt: isoDateTime,
  giftAid: z.boolean(),
  /** The zone whose calendar dates the receipt (the organisation's). */
  timeZone: timeZoneSchema.default(DEFAULT_TIME_ZONE),
})
export type DonationReceiptProps = z.output<typeof schema>

function totalMinor(props: DonationReceiptProps) {
  return props.chargedMinor ?? props.amountMinor + props.feeCoverMinor
}

export function subject(props: DonationReceiptProps) {
  return `Thank you for your gift of ${money(totalMinor(props), props.currency)}`
}

export function Component(props: DonationReceiptProps) {
  const { organisation, currency } = props
  const total = money(totalMinor(props), currency)
  return (
    <EmailLayout organisation={organisation} preview={`Your receipt for ${total} to ${props.appealTitle}.`}>
      <Heading>Thank you</Heading>
      <Greeting name={props.name} />
      <Paragraph>
        Thank you for your gift of {money(props.amountMinor, currency)} to {props.appealTitle}. It goes straight to
        the work the appeal describes. Please keep this email as your receipt.
      </Paragraph>
      {totalMinor(props) !== props.amountMinor + props.feeCoverMinor ? (
        <Paragraph>
          The amount charged, {total}, is not the {money(props.amountMinor + props.feeCoverMinor, currency)} you chose. If that
          is not what you expected, please reply to this email and we will put it right.
        </Paragraph>
      ) : null}
      <Facts
        items={[
          ['Appeal', props.appealTitle],
          ['Your gift', money(props.amountMinor, currency)],
          props.feeCoverMinor > 0 ? ['Card fees you covered', money(props.feeCoverMinor, currency)] : null,
          ['Total charged', total],
          ['Date', formatDayInZone(props.donatedAt, props.timeZone)],
          ['Reference', props.donationId],
          props.giftAid ? ['Gift Aid', 'Declared'] : null,
          organisation.charityNumber ? ['Charity number', organisation.charityNumber] : null,
        ]}
      />
      {props.giftAid ? (
        <Paragraph>
          You made a Gift Aid declaration, so we can claim Gift Aid on your gift from HMRC at no cost to you. Please
          tell us if you stop paying enough Income Tax or Capital Gains Tax, or change your name or address.
        </Paragraph>
      ) : null}
      <ActionButton href={props.appealUrl} colour={organisation.primaryColour}>
        See the appeal
      </ActionButton>
    </EmailLayout>
  )
}

export const previewProps: z.input<typeof schema> = {
  organisation: previewOrganisation,
  name: 'Amina',
  amountMinor: 2500,
  feeCoverMinor: 95,
  currency: 'GBP',
  appealTitle: 'Help Yusuf walk again',
  appealUrl: 'https://example.org/appeals/walk-again-yusuf',
  donationId: 'd7a1c2e4-5b6f-4a3b-9c8d-0e1f2a3b4c5d',
  donatedAt: '2026-03-14T18:30:00.000Z',
  giftAid: true,
  timeZone: 'Europe/London',
}

export default defineEmailTemplate({ schema, subject, Component, previewProps })
