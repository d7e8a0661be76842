import { minorUnitExponent, roundUpToStripeAmount } from '#app/utils/money.ts'

/** The largest single gift taken online, in pounds or their rough equivalent (`DONATION_MAX_GBP`). */
export const DEFAULT_DONATION_MAX_GBP = 25_000

/**
 * Roughly how many units of each currency a pound buys, rounded. Only for a ceiling on one gift
 * (a slip of the keyboard, "25000000" for "250"), never for money that moves: a rate that has
 * drifted by half still stops the slip. A currency missing here counts one unit as a pound.
 */
const UNITS_PER_POUND: Record<string, number> = {
  GBP: 1, EUR: 1.15, USD: 1.3, CAD: 1.8, AUD: 2, NZD: 2.2, CHF: 1.1, SEK: 14, NOK: 14, DKK: 8.5,
  JPY: 190, KRW: 1_800, MYR: 6, SGD: 1.7, ZAR: 24, TRY: 50, KWD: 0.4, BHD: 0.5, JOD: 0.9,
}

/** Down to two significant figures: a ceiling a person can read at a glance (32,500 → 32,000). */
function roundNumber(units: number): number {
  if (units < 100) return Math.max(1, Math.floor(units))
  const step = 10 ** (Math.floor(Math.log10(units)) - 1)
  return Math.floor(units / step) * step
}

/**
 * The smallest and largest single gift per currency, in minor units. The minimum also blunts card
 * testing (tiny charges to try stolen cards); the maximum (`maxGbp` pounds, or about that much in
 * the appeal's currency) stops a slip of the keyboard, and larger gifts come by talking to the
 * organisation. Both are whole units, so every three-decimal limit is a Stripe amount too.
 */
export function donationLimits(currency: string, maxGbp: number = DEFAULT_DONATION_MAX_GBP): { minMinor: number; maxMinor: number } {
  const unit = 10 ** minorUnitExponent(currency)
  const code = currency.toUpperCase()
  // Whole units of currencies worth far less than a pound need a larger floor.
  const scale = code === 'JPY' ? 150 : code === 'KRW' ? 1_500 : 1
  const minMinor = 2 * unit * scale
  const maxMinor = roundNumber(maxGbp * (UNITS_PER_POUND[code] ?? 1)) * unit
  return { minMinor, maxMinor: Math.max(minMinor, maxMinor) }
}

/**
 * "Cover the processing fee": the extra that makes the charity receive the whole gift after the
 * card fee (a percentage of the total charged plus a fixed part). Solving
 * `total - (total * percent + fixed) = gift` gives `total = (gift + fixed) / (1 - percent)`,
 * rounded up to a whole minor unit (a multiple of ten for three-decimal currencies, which Stripe
 * charges in steps of 0.010) so the charity is never short.
 */
export type FeeFormula = { percent: number; fixedMinor: number }

/** Stripe's standard UK card pricing; organisations on other pricing configure their own. */
export const DEFAULT_FEE_FORMULA: FeeFormula = { percent: 1.5, fixedMinor: 20 }

export function feeFormulaFor(currency: string, formula: FeeFormula = DEFAULT_FEE_FORMULA): FeeFormula {
  // The fixed part is given in a two-decimal currency's minor units (20 = 20p); scale it for others.
  const exponent = minorUnitExponent(currency)
  return { percent: formula.percent, fixedMinor: Math.ceil((formula.fixedMinor * 10 ** exponent) / 100) }
}

export function coverFeeMinor(giftMinor: number, currency: string, formula: FeeFormula = DEFAULT_FEE_FORMULA): number {
  if (!Number.isSafeInteger(giftMinor) || giftMinor <= 0) return 0
  const { percent, fixedMinor } = feeFormulaFor(currency, formula)
  // Integer arithmetic in hundredths of a percent keeps the result exact.
  const basisPoints = Math.round(percent * 100)
  const exact = Math.ceil(((giftMinor + fixedMinor) * 10_000) / (10_000 - basisPoints))
  // Up, never down, to an amount Stripe takes (KWD in steps of 0.010): the charity is never short,
  // and a gift Stripe takes plus this fee is one Stripe takes too.
  const total = roundUpToStripeAmount(exact, currency)
  return total - giftMinor
}
