import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  currencyMarks,
  formatMoney,
  formatMoneyShort,
  minorUnitExponent,
  parseAmountToMinor,
  progressPercent,
  SUPPORTED_CURRENCIES,
} from '#app/utils/money.ts'

describe('minor units', () => {
  test('zero-decimal currencies are not multiplied by 100', () => {
    expect(parseAmountToMinor('500', 'JPY')).toBe(500)
    expect(parseAmountToMinor('10000', 'KRW')).toBe(10_000)
    expect(parseAmountToMinor('25', 'GBP')).toBe(2_500)
    expect(parseAmountToMinor('1.250', 'KWD')).toBe(1_250)
  })

  test('rejects more decimals than the currency has, but accepts trailing zeros', () => {
    expect(parseAmountToMinor('25.505', 'GBP')).toBeNull()
    expect(parseAmountToMinor('500.5', 'JPY')).toBeNull()
    expect(parseAmountToMinor('500.00', 'JPY')).toBe(500)
    expect(parseAmountToMinor('25.5', 'GBP')).toBe(2_550)
  })

  test('rejects text that is not an amount', () => {
    for (const input of ['', '-5', '1e3', 'ten', '5..0', '.5', '0x10']) {
      expect(parseAmountToMinor(input, 'GBP'), input).toBeNull()
    }
  })

  test('accepts thousands separators and spaces', () => {
    expect(parseAmountToMinor(' 1,000.00 ', 'GBP')).toBe(100_000)
  })

  test('property: formatting then parsing gives back the same minor units, in every currency', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SUPPORTED_CURRENCIES), fc.integer({ min: 0, max: 10_000_000_000 }), (currency, minor) => {
        const exponent = minorUnitExponent(currency)
        const whole = Math.floor(minor / 10 ** exponent)
        const fraction = String(minor % 10 ** exponent).padStart(exponent, '0')
        const typed = exponent === 0 ? String(whole) : `${whole}.${fraction}`
        expect(parseAmountToMinor(typed, currency)).toBe(minor)
      }),
    )
  })
})

describe('typed amounts with commas', () => {
  test('a comma groups thousands; a decimal comma is not read as thousands', () => {
    expect(parseAmountToMinor('1,500.00', 'GBP')).toBe(150_000)
    expect(parseAmountToMinor('1,000,000', 'JPY')).toBe(1_000_000)
    expect(parseAmountToMinor('12,50', 'GBP')).toBeNull()
    expect(parseAmountToMinor('1,5', 'EUR')).toBeNull()
    expect(parseAmountToMinor('1500,00', 'EUR')).toBeNull()
    expect(parseAmountToMinor('15,00,000', 'GBP')).toBeNull()
  })
})

describe('typed amounts with the currency written in (issue 13)', () => {
  test('"£20", "20.00", "1,000" and "1,000.50" in pounds; the symbol before or after, with or without a space', () => {
    expect(parseAmountToMinor('£20', 'GBP')).toBe(2_000)
    expect(parseAmountToMinor('20.00', 'GBP')).toBe(2_000)
    expect(parseAmountToMinor('1,000', 'GBP')).toBe(100_000)
    expect(parseAmountToMinor('1,000.50', 'GBP')).toBe(100_050)
    expect(parseAmountToMinor('£ 1,000.50', 'GBP')).toBe(100_050)
    expect(parseAmountToMinor('20 GBP', 'GBP')).toBe(2_000)
    expect(parseAmountToMinor('¥1,500', 'JPY')).toBe(1_500)
    expect(parseAmountToMinor('KWD 2.510', 'KWD')).toBe(2_510)
  })

  test("another currency's symbol, two symbols, or a symbol alone are not amounts", () => {
    expect(parseAmountToMinor('$20', 'GBP')).toBeNull()
    expect(parseAmountToMinor('€20', 'GBP')).toBeNull()
    expect(parseAmountToMinor('££20', 'GBP')).toBeNull()
    expect(parseAmountToMinor('£20£', 'GBP')).toBeNull()
    expect(parseAmountToMinor('£', 'GBP')).toBeNull()
    expect(parseAmountToMinor('£-5', 'GBP')).toBeNull()
  })

  test('property: over the currency table, an amount written with grouping commas, trailing zeros and any of its marks parses to its minor units', () => {
    const grouped = (whole: bigint) => whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    fc.assert(
      fc.property(
        fc.constantFrom(...SUPPORTED_CURRENCIES),
        fc.integer({ min: 0, max: 10_000_000_000 }),
        fc.record({ commas: fc.boolean(), extraZeros: fc.integer({ min: 0, max: 2 }), mark: fc.nat(), after: fc.boolean(), space: fc.boolean() }),
        (currency, minor, style) => {
          const exponent = minorUnitExponent(currency)
          const whole = BigInt(Math.floor(minor / 10 ** exponent))
          const fraction = String(minor % 10 ** exponent).padStart(exponent, '0') + '0'.repeat(exponent > 0 ? style.extraZeros : 0)
          const number = `${style.commas ? grouped(whole) : whole}${exponent > 0 ? `.${fraction}` : ''}`
          const marks = currencyMarks(currency)
          const mark = marks[style.mark % marks.length]!
          const gap = style.space ? ' ' : ''
          const typed = style.after ? `${number}${gap}${mark}` : `${mark}${gap}${number}`
          expect(parseAmountToMinor(typed, currency), typed).toBe(minor)
          expect(parseAmountToMinor(number, currency), number).toBe(minor)
        },
      ),
    )
  })

  test("property: a mark that is none of this currency's own makes the text not an amount", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SUPPORTED_CURRENCIES), fc.constantFrom(...SUPPORTED_CURRENCIES), fc.integer({ min: 1, max: 1_000_000 }), (currency, other, units) => {
        const foreign = currencyMarks(other).filter((mark) => !currencyMarks(currency).some((own) => own.toUpperCase() === mark.toUpperCase()))
        for (const mark of foreign) expect(parseAmountToMinor(`${mark}${units}`, currency), `${mark}${units} in ${currency}`).toBeNull()
      }),
    )
  })
})

describe('formatting', () => {
  test('shows the currency with its own number of decimals', () => {
    expect(formatMoney(2_500, 'GBP')).toBe('£25.00')
    expect(formatMoney(500, 'JPY')).toBe('JP¥500')
    expect(formatMoneyShort(2_500, 'GBP')).toBe('£25')
    expect(formatMoneyShort(2_550, 'GBP')).toBe('£25.50')
    expect(formatMoneyShort(4_000_000, 'USD')).toBe('US$40,000')
  })

  test('progress is a whole percentage capped at 100', () => {
    expect(progressPercent(0, 1_000)).toBe(0)
    expect(progressPercent(7, 1_000)).toBe(1)
    expect(progressPercent(333, 1_000)).toBe(33)
    expect(progressPercent(5_000, 1_000)).toBe(100)
    expect(progressPercent(10, 0)).toBe(0)
  })
})
