/**
 * The Gift Aid declaration a donor agrees to. HMRC's model wording is for a single gift; this is
 * its enduring form, covering this gift, future gifts and those of the past four years, so one
 * declaration serves a monthly donor too. The text is stored with each declaration exactly as
 * the donor saw it, so change it only together with a new wording from HMRC.
 */
export function giftAidDeclaration(charityName: string, amountText?: string): string {
  const gift = amountText ? `my donation of ${amountText}` : 'my donation'
  return (
    `I want to Gift Aid ${gift} and any donations I make in the future or have made in the past 4 years ` +
    `to ${charityName}. I am a UK taxpayer and understand that if I pay less Income Tax and/or Capital ` +
    'Gains Tax than the amount of Gift Aid claimed on all my donations in that tax year it is my ' +
    'responsibility to pay any difference.'
  )
}

/**
 * Gift Aid is a UK scheme, so its dates are UK dates whatever the organisation's TIME_ZONE: a
 * gift at 00:30 BST on 6 April belongs to the new tax year, although it is still 5 April in UTC.
 */
export const GIFT_AID_TIME_ZONE = 'Europe/London'

/** Gift Aid is a UK scheme: only a charity that claims it, and only on gifts in pounds. */
export function isGiftAidAvailable(options: { giftAidEnabled: boolean; currency: string }): boolean {
  return options.giftAidEnabled && options.currency.toUpperCase() === 'GBP'
}

/**
 * What Gift Aid adds: 25p for every pound given (basic rate 20%: 20 / 80), rounded down to the
 * penny; nothing on a negative amount (more refunded than given).
 */
export function giftAidBonusMinor(giftMinor: number): number {
  return Math.floor(Math.max(0, giftMinor) / 4)
}

/**
 * HMRC asks a charity to keep a Gift Aid declaration for six years after the end of the
 * accounting period of the last gift it covered. We do not know the organisation's accounting
 * period, so we keep it seven years after that gift: always long enough.
 */
export const GIFT_AID_KEEP_YEARS = 7
