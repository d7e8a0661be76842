import { parseWithZod } from '@conform-to/zod'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createDonationFormSchema } from '#app/forms/donation/schema.ts'
import { createRegistrationFormSchema } from '#app/forms/registration/schema.ts'
import { coverFeeMinor, DEFAULT_FEE_FORMULA, donationLimits, feeFormulaFor } from '#app/modules/donations/amounts.ts'
import { minorToDecimal, minorUnitExponent, SUPPORTED_CURRENCIES } from '#app/utils/money.ts'

/**
 * Stripe's own rule, written out here rather than imported, so the test checks the app against
 * Stripe and not against itself: a whole, positive count of minor units, and for three-decimal
 * currencies (KWD, BHD, JOD, OMR, TND) the last digit must be 0.
 */
function stripeTakes(amountMinor: number, currency: string) {
  const step = minorUnitExponent(currency) === 3 ? 10 : 1
  return Number.isSafeInteger(amountMinor) && amountMinor > 0 && amountMinor % step === 0
}

const SEED = 20261203

function parseDonation(currency: string, customAmount: string) {
  const form = new FormData()
  for (const [name, value] of Object.entries({
    submissionId: '6f1c3c1e-8d4e-4c57-9a57-0f5d2b8e4a11',
    amount: 'other',
    customAmount,
    name: 'Maryam',
    email: 'maryam@example.org',
  })) form.set(name, value)
  return parseWithZod(form, { schema: createDonationFormSchema({ currency, giftAidAvailable: false }) })
}

describe('every amount sent to Stripe is one Stripe takes', () => {
  test('KWD 2.505 is refused with a clear message; KWD 2.510 is taken', () => {
    const refused = parseDonation('KWD', '2.505')
    expect(refused.status === 'error' && refused.error?.customAmount?.[0]).toMatch(/must end in 0/)
    const taken = parseDonation('KWD', '2.510')
    expect(taken.status === 'success' && taken.value.amountMinor).toBe(2_510)
  })

  test('covering the fee on KWD 10 charges a whole multiple of 10 fils', () => {
    const total = 10_000 + coverFeeMinor(10_000, 'KWD')
    expect(total % 10).toBe(0)
    expect(total).toBe(10_360)
  })

  test('property: over the whole currency table, the gift the form accepts and the gift plus fee cover are valid Stripe amounts, and the cover is never below the formula', () => {
    fc.assert(
      fc.property(
        // Amounts around the currency's limits, so most are ones the form takes.
        fc.constantFrom(...SUPPORTED_CURRENCIES).chain((currency) =>
          fc.tuple(fc.constant(currency), fc.integer({ min: 1, max: donationLimits(currency).maxMinor + 100 })),
        ),
        fc.boolean(),
        fc.record({ percent: fc.integer({ min: 0, max: 900 }), fixedMinor: fc.integer({ min: 0, max: 500 }) }),
        ([currency, typedMinor], coverFee, formulaHundredths) => {
          const formula = { percent: formulaHundredths.percent / 100, fixedMinor: formulaHundredths.fixedMinor }
          const submission = parseDonation(currency, minorToDecimal(typedMinor, currency))
          if (submission.status !== 'success') return
          const gift = submission.value.amountMinor
          const { minMinor, maxMinor } = donationLimits(currency)
          expect(gift).toBeGreaterThanOrEqual(minMinor)
          expect(gift).toBeLessThanOrEqual(maxMinor)
          expect(stripeTakes(gift, currency), `${currency} gift ${gift}`).toBe(true)
          if (!coverFee) return
          const fee = coverFeeMinor(gift, currency, formula)
          const total = gift + fee
          expect(stripeTakes(total, currency), `${currency} gift ${gift} + fee ${fee}`).toBe(true)
          // What the charity receives after the card fee is at least the gift.
          const { fixedMinor } = feeFormulaFor(currency, formula)
          const basisPoints = Math.round(formula.percent * 100)
          expect(total * (10_000 - basisPoints)).toBeGreaterThanOrEqual((gift + fixedMinor) * 10_000)
        },
      ),
      { seed: SEED, numRuns: 1_000 },
    )
  })

  test('property: with the default formula, the fee cover on any valid gift keeps the charge valid', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SUPPORTED_CURRENCIES), fc.integer({ min: 1, max: 2_500_000 }), (currency, steps) => {
        const step = minorUnitExponent(currency) === 3 ? 10 : 1
        const gift = steps * step
        const fee = coverFeeMinor(gift, currency, DEFAULT_FEE_FORMULA)
        expect(stripeTakes(gift + fee, currency), `${currency} ${gift} + ${fee}`).toBe(true)
      }),
      { seed: SEED, numRuns: 2_000 },
    )
  })

  test('a pay-what-you-can price in KWD that does not end in 0 is refused; one that does is taken', () => {
    const ticketTypeId = '0b8f6f57-8f0e-4f57-9f57-000000000002'
    const schema = createRegistrationFormSchema({
      ticketTypes: [{ id: ticketTypeId, kind: 'pay_what_you_can', priceMinor: 5_000, minPriceMinor: 1_000, currency: 'KWD' }],
      maxPerOrder: 4,
    })
    const parse = (chosenPrice: string) => {
      const form = new FormData()
      for (const [name, value] of Object.entries({
        submissionId: '6f1c3c1e-8d4e-4c57-9a57-0f5d2b8e4a11',
        ticketTypeId,
        chosenPrice,
        quantity: '3',
        name: 'Maryam',
        email: 'maryam@example.org',
        privacyConsent: 'on',
      })) form.set(name, value)
      return parseWithZod(form, { schema })
    }
    const refused = parse('2.505')
    expect(refused.status === 'error' && refused.error?.chosenPrice?.[0]).toMatch(/must end in 0/)
    const taken = parse('2.510')
    expect(taken.status === 'success' && taken.value.chosenPriceMinor).toBe(2_510)
  })
})
