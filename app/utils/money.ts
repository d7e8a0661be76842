import { numberFormat } from './intl-cache.ts'

/**
 * Money is an integer count of the currency's minor unit, with its currency beside it.
 * The exponents follow Stripe's currency list: zero-decimal currencies are sent as whole units
 * (¥500 is 500), three-decimal ones as thousandths.
 */

const ZERO_DECIMAL = new Set([
  'BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV',
  'XAF', 'XOF', 'XPF',
])
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND'])

/** Currencies an organisation can raise money in (ISO 4217 codes Stripe accepts for donations). */
export const SUPPORTED_CURRENCIES = [
  'GBP', 'EUR', 'USD', 'CAD', 'AUD', 'NZD', 'CHF', 'SEK', 'NOK', 'DKK', 'JPY', 'KRW', 'MYR',
  'SGD', 'ZAR', 'TRY', 'KWD', 'BHD', 'JOD',
] as const
export type Currency = (typeof SUPPORTED_CURRENCIES)[number]

export type Money = { amountMinor: number; currency: string }

export function minorUnitExponent(currency: string): 0 | 2 | 3 {
  const code = currency.toUpperCase()
  if (ZERO_DECIMAL.has(code)) return 0
  if (THREE_DECIMAL.has(code)) return 3
  return 2
}

/**
 * The step every amount sent to Stripe must be a multiple of, in minor units. Stripe charges (and
 * refunds) three-decimal currencies only in whole hundredths: KWD 2.505 is refused, so the last
 * digit of the thousandths must be 0. Every other currency moves in single minor units.
 */
export function stripeAmountStep(currency: string): 1 | 10 {
  return minorUnitExponent(currency) === 3 ? 10 : 1
}

/** Whether Stripe would take this as a charge or refund: a whole, positive count of its step. */
export function isStripeAmount(amountMinor: number, currency: string): boolean {
  return Number.isSafeInteger(amountMinor) && amountMinor > 0 && amountMinor % stripeAmountStep(currency) === 0
}

/** The smallest amount Stripe takes that is at least this one (KWD 10.356 → 10.360). */
export function roundUpToStripeAmount(amountMinor: number, currency: string): number {
  const step = stripeAmountStep(currency)
  return Math.ceil(amountMinor / step) * step
}

/** What to tell a person who typed an amount Stripe cannot take in this currency. */
export function stripeStepMessage(currency: string): string {
  const code = currency.toUpperCase()
  return `Amounts in ${code} must end in 0, like 2.500 or 2.510: card payments in ${code} cannot use the last decimal place`
}

/**
 * The ways a person may mark an amount as this currency: its code and its en-GB symbols, longest
 * first ("US$" before "$"): GBP → GBP, £; USD → USD, US$, $; JPY → JPY, JP¥, ¥; KWD → KWD.
 * Another currency's symbol is not among them: "$20" on an appeal in pounds is not an amount.
 */
export function currencyMarks(currency: string): string[] {
  const code = currency.toUpperCase()
  const marks = new Set([code])
  for (const currencyDisplay of ['symbol', 'narrowSymbol'] as const) {
    const part = numberFormat('en-GB', { style: 'currency', currency: code, currencyDisplay })
      .formatToParts(0)
      .find((piece) => piece.type === 'currency')
    if (part) marks.add(part.value)
  }
  return [...marks].sort((a, b) => b.length - a.length)
}

/** "£20", "20 GBP", "gbp 20" → "20": one mark of this currency, before or after the number. */
function withoutCurrencyMark(text: string, currency: string): string {
  const upper = text.toUpperCase()
  for (const mark of currencyMarks(currency)) {
    const wanted = mark.toUpperCase()
    if (upper.startsWith(wanted)) return text.slice(mark.length)
    if (upper.endsWith(wanted)) return text.slice(0, text.length - mark.length)
  }
  return text
}

/**
 * Parses an amount a person typed ("25", "25.5", "£20", "1,000.00") into minor units without
 * floating point. Returns null when the text is not an amount in that currency (too many decimals,
 * say, a comma that does not group thousands, like "12,50", or another currency's symbol).
 */
export function parseAmountToMinor(input: string, currency: string): number | null {
  const exponent = minorUnitExponent(currency)
  const spaced = withoutCurrencyMark(input.replace(/\s/g, ''), currency)
  // A comma only ever groups thousands: "12,50" is someone's decimal comma, not 1,250.
  if (spaced.includes(',') && !/^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(spaced)) return null
  const cleaned = spaced.replace(/,/g, '')
  const match = /^(\d+)(?:\.(\d+))?$/.exec(cleaned)
  if (!match) return null
  const [, whole = '0', fraction = ''] = match
  if (fraction.length > exponent) {
    // "25.50" in JPY is not an amount; "25.00" is, and means 25.
    if (!/^0*$/.test(fraction.slice(exponent))) return null
  }
  const fractionDigits = fraction.slice(0, exponent).padEnd(exponent, '0')
  const minor = BigInt(whole) * 10n ** BigInt(exponent) + (exponent > 0 ? BigInt(fractionDigits) : 0n)
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return null
  return Number(minor)
}

/** "£25.00", "¥500", "KWD 1.250": for people, in the given locale. */
export function formatMoney(amountMinor: number, currency: string, locale = 'en-GB'): string {
  const exponent = minorUnitExponent(currency)
  const whole = amountMinor / 10 ** exponent
  return numberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(whole)
}

/** Like formatMoney, but drops ".00" from whole amounts: for headlines and suggested amounts. */
export function formatMoneyShort(amountMinor: number, currency: string, locale = 'en-GB'): string {
  const exponent = minorUnitExponent(currency)
  const isWhole = amountMinor % 10 ** exponent === 0
  return numberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: isWhole ? 0 : exponent,
    maximumFractionDigits: exponent,
  }).format(amountMinor / 10 ** exponent)
}

/** Share of a goal reached, as a whole percentage between 0 and 100, for a progress bar. */
export function progressPercent(raisedMinor: number, goalMinor: number): number {
  if (goalMinor <= 0 || raisedMinor <= 0) return 0
  // Any gift shows on the bar: the first pounds of a large goal are still progress.
  return Math.min(100, Math.max(1, Math.floor((raisedMinor * 100) / goalMinor)))
}

/** "25.00", "500", "1.250": a plain number a spreadsheet can add up, in major units. */
export function minorToDecimal(amountMinor: number, currency: string): string {
  const exponent = minorUnitExponent(currency)
  const sign = amountMinor < 0 ? '-' : ''
  const digits = String(Math.abs(amountMinor)).padStart(exponent + 1, '0')
  if (exponent === 0) return `${sign}${digits}`
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
}
