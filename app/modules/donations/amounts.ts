import { minorUnitExponent, roundUpToStripeAmount } from '#app/utils/money.ts'

/**
 * The smallest and largest single gift per currency, in minor units. The minimum also blunts card
 * testing (tiny charges to try stolen cards); the maximum stops a slip of the keyboard.
 */
export function donationLimits(currency: string): { minMinor: number; maxMinor: number } {
  const unit = 10 ** minorUnitExponent(currency)
  const code = currency.toUpperCase()
  // Whole units of currencies worth far less than a pound need a larger floor and ceiling.
  const scale = code === 'JPY' ? 150 : code === 'KRW' ? 1_500 : 1
  return { minMinor: 2 * unit * scale, maxMinor: 25_000 * unit * scale }
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
