import { describe, expect, test } from 'vitest'
import { giftAidBonusMinor, overClaimedTaxMinor, taxYear, taxYearAt, taxYearOfDay } from '#app/modules/donations/gift-aid.ts'

describe('tax years', () => {
  test('run from 6 April to the next 5 April, named by the year they start in', () => {
    expect(taxYear(2025)).toEqual({ startYear: 2025, from: '2025-04-06', to: '2026-04-05', label: '2025–26' })
    expect(taxYear(2099).label).toBe('2099–00')
    expect(taxYearOfDay('2025-04-05').startYear).toBe(2024)
    expect(taxYearOfDay('2025-04-06').startYear).toBe(2025)
    expect(taxYearOfDay('2026-01-31').startYear).toBe(2025)
  })

  test('an instant belongs to the tax year of its UK date', () => {
    // 23:30 UTC on 5 April 2025 is 00:30 BST on 6 April: the new year.
    expect(taxYearAt(new Date('2025-04-05T23:30:00Z')).startYear).toBe(2025)
    expect(taxYearAt(new Date('2025-04-05T22:59:59Z')).startYear).toBe(2024)
  })
})

describe('what Gift Aid adds and gives back', () => {
  test('25% of what was given, rounded down; the tax over-claimed, rounded up', () => {
    expect(giftAidBonusMinor(8_001)).toBe(2_000)
    expect(giftAidBonusMinor(-5)).toBe(0)
    expect(overClaimedTaxMinor(6_001)).toBe(1_501)
    expect(overClaimedTaxMinor(6_000)).toBe(1_500)
    expect(overClaimedTaxMinor(0)).toBe(0)
  })
})
