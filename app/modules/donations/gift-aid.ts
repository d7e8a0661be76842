import { dateTimeFormat } from '#app/utils/intl-cache.ts'

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
 * penny; nothing on a negative amount (more refunded than given). "Gift Aid claimable" is this of
 * the eligible total, which gift-aid.server.ts defines.
 */
export function giftAidBonusMinor(giftMinor: number): number {
  return Math.floor(Math.max(0, giftMinor) / 4)
}

/**
 * The tax to enter in a claim's Adjustment box for gifts over-claimed before (given back after
 * they were claimed): HMRC wants the tax over-claimed, not the donations. Rounded up to the penny,
 * so what goes back to HMRC is never short of what was claimed on that money.
 */
export function overClaimedTaxMinor(overClaimedMinor: number): number {
  return Math.ceil(Math.max(0, overClaimedMinor) / 4)
}

/**
 * The limits of HMRC's Gift Aid schedule spreadsheet: first and last names of at most 35
 * characters, and the house name or number of at most 40 (longer values are cut, not refused:
 * HMRC needs enough to identify the donor, and the declaration keeps the whole of it).
 */
export const HMRC_SCHEDULE_NAME_MAX = 35
export const HMRC_SCHEDULE_HOUSE_MAX = 40

/**
 * A UK tax year runs from 6 April to the next 5 April (UK dates) and is named here by the year it
 * starts in: 2025 is 6 April 2025 to 5 April 2026, "2025–26".
 */
export type TaxYear = { startYear: number; from: string; to: string; label: string }

export function taxYear(startYear: number): TaxYear {
  return {
    startYear,
    from: `${startYear}-04-06`,
    to: `${startYear + 1}-04-05`,
    label: `${startYear}–${String((startYear + 1) % 100).padStart(2, '0')}`,
  }
}

/** The tax year a UK calendar day (YYYY-MM-DD) falls in. */
export function taxYearOfDay(day: string): TaxYear {
  const year = Number(day.slice(0, 4))
  return taxYear(day.slice(5) >= '04-06' ? year : year - 1)
}

/** The tax year running at an instant: its UK date decides, as for a gift at 00:30 BST on 6 April. */
export function taxYearAt(instant: Date): TaxYear {
  return taxYearOfDay(dateTimeFormat('en-CA', { timeZone: GIFT_AID_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant))
}

/**
 * HMRC asks a charity to keep a Gift Aid declaration for six years after the end of the
 * accounting period of the last gift it covered. We do not know the organisation's accounting
 * period, so we keep it seven years after that gift: always long enough.
 */
export const GIFT_AID_KEEP_YEARS = 7
