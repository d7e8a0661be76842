import { parseWithZod } from '@conform-to/zod'
import { describe, expect, test } from 'vitest'
import {
  chosenAmountMinor,
  createDonationFormSchema,
  normaliseUkPostcode,
  toDonationRequest,
  type DonationFormOptions,
} from '#app/forms/donation/schema.ts'
import { giftAidDeclaration } from '#app/modules/donations/gift-aid.ts'

const GBP: DonationFormOptions = { currency: 'GBP', giftAidAvailable: true }

function formData(fields: Record<string, string>) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.set(name, value)
  return form
}

/** Parses the way the action and the browser do: from FormData, with conform's coercion. */
function parse(fields: Record<string, string>, options: DonationFormOptions = GBP) {
  return parseWithZod(
    formData({
      submissionId: '6f1c3c1e-8d4e-4c57-9a57-0f5d2b8e4a11',
      amount: '2500',
      name: 'Maryam',
      email: 'maryam@example.org',
      ...fields,
    }),
    { schema: createDonationFormSchema(options) },
  )
}

function valueOf(submission: ReturnType<typeof parse>) {
  if (submission.status !== 'success') throw new Error(`expected success, got ${JSON.stringify(submission.error)}`)
  return submission.value
}

function errorsOf(submission: ReturnType<typeof parse>) {
  if (submission.status === 'success') throw new Error('expected the form to be refused, but it was accepted')
  return submission.error ?? {}
}

const giftAidDetails = {
  giftAid: 'on',
  ukTaxpayer: 'on',
  fullName: 'Maryam Ahmed',
  houseNameOrNumber: '12',
  address: 'High Street, Leeds',
  postcode: 'ls1 4ap',
}

describe('the amount', () => {
  test('a suggested amount is taken as minor units', () => {
    expect(valueOf(parse({ amount: '5000' })).amountMinor).toBe(5_000)
  })

  test('GBP "25.50" is 2550 pence', () => {
    expect(valueOf(parse({ amount: 'other', customAmount: '25.50' })).amountMinor).toBe(2_550)
  })

  test('JPY "500" is 500: yen have no minor unit', () => {
    const value = valueOf(parse({ amount: 'other', customAmount: '500' }, { currency: 'JPY', giftAidAvailable: false }))
    expect(value.amountMinor).toBe(500)
  })

  test('JPY "5.5" is not an amount', () => {
    const errors = errorsOf(parse({ amount: 'other', customAmount: '5.5' }, { currency: 'JPY', giftAidAvailable: false }))
    expect(errors.customAmount?.[0]).toMatch(/whole number/)
  })

  test('an amount below the minimum names the minimum', () => {
    expect(errorsOf(parse({ amount: 'other', customAmount: '1.99' })).customAmount).toEqual([
      'The smallest gift we can take is £2.00',
    ])
    expect(valueOf(parse({ amount: 'other', customAmount: '2' })).amountMinor).toBe(200)
  })

  test('an amount above the maximum is refused', () => {
    expect(errorsOf(parse({ amount: 'other', customAmount: '25000.01' })).customAmount?.[0]).toMatch(
      /largest gift we can take online is £25,000\.00/,
    )
  })

  test('a tampered suggested amount is held to the same limits', () => {
    expect(errorsOf(parse({ amount: '1' })).amount?.[0]).toMatch(/smallest gift/)
  })

  test('"Other amount" needs an amount typed in', () => {
    expect(errorsOf(parse({ amount: 'other', customAmount: '' })).customAmount).toEqual([
      'Enter the amount you would like to give',
    ])
    expect(errorsOf(parse({ amount: 'other', customAmount: 'ten pounds' })).customAmount?.[0]).toMatch(/like 25 or 25\.50/)
  })

  test('a typed amount is ignored when a suggested amount is chosen', () => {
    expect(valueOf(parse({ amount: '1000', customAmount: 'rubbish' })).amountMinor).toBe(1_000)
  })

  test('no amount chosen at all is an error', () => {
    const errors = errorsOf(parse({ amount: '' }))
    expect(errors.amount?.[0]).toMatch(/Choose an amount/)
  })

  test('chosenAmountMinor follows the same rules for live labels', () => {
    expect(chosenAmountMinor('2500', undefined, 'GBP')).toBe(2_500)
    expect(chosenAmountMinor('other', '12.5', 'GBP')).toBe(1_250)
    expect(chosenAmountMinor('other', '', 'GBP')).toBeNull()
    expect(chosenAmountMinor('other', '5.5', 'JPY')).toBeNull()
    expect(chosenAmountMinor(undefined, '10', 'GBP')).toBeNull()
  })
})

describe('the donor', () => {
  test('defaults: a one-off gift, fee not covered, nothing shown, no updates', () => {
    const value = valueOf(parse({}))
    expect(value).toMatchObject({
      frequency: 'one_off',
      coverFee: false,
      showName: false,
      showAmount: false,
      showMessage: false,
      updatesOptIn: false,
      giftAid: null,
    })
  })

  test('ticked boxes and a monthly gift come through', () => {
    const value = valueOf(
      parse({ frequency: 'monthly', coverFee: 'on', showName: 'on', showAmount: 'on', updatesOptIn: 'on' }),
    )
    expect(value).toMatchObject({ frequency: 'monthly', coverFee: true, showName: true, showAmount: true, updatesOptIn: true })
  })

  test('name and email are required, with messages a person can act on', () => {
    const errors = errorsOf(parse({ name: '   ', email: '' }))
    expect(errors.name).toEqual(['Enter your name'])
    expect(errors.email).toEqual(['Enter your email address so we can send your receipt'])
  })

  test('an email address must look like one and fit', () => {
    expect(errorsOf(parse({ email: 'maryam.example.org' })).email?.[0]).toMatch(/like name@example\.com/)
    expect(errorsOf(parse({ email: `${'a'.repeat(250)}@example.org` })).email?.[0]).toMatch(/254 characters or fewer/)
  })

  test('a name over 100 characters is refused', () => {
    expect(errorsOf(parse({ name: 'n'.repeat(101) })).name?.[0]).toMatch(/100 characters or fewer/)
  })

  test('a message may be 500 characters, counted as a person counts them', () => {
    expect(valueOf(parse({ message: 'a'.repeat(500) })).message).toHaveLength(500)
    // 500 emoji are 1,000 UTF-16 code units but 500 characters.
    expect(parse({ message: '🌱'.repeat(500) }).status).toBe('success')
    expect(errorsOf(parse({ message: 'a'.repeat(501) })).message?.[0]).toMatch(/500 characters or fewer/)
  })

  test('the honeypot must stay empty', () => {
    expect(errorsOf(parse({ website: 'https://spam.example' })).website).toBeDefined()
  })

  test('a missing or forged submission id asks for a reload', () => {
    expect(errorsOf(parse({ submissionId: 'not-a-uuid' })).submissionId?.[0]).toMatch(/Reload the page/)
  })

  test('every mistake is reported at once, not one refinement at a time', () => {
    const errors = errorsOf(parse({ email: '', amount: 'other', customAmount: '1', giftAid: 'on' }))
    expect(Object.keys(errors)).toEqual(
      expect.arrayContaining(['email', 'customAmount', 'ukTaxpayer', 'fullName', 'houseNameOrNumber', 'address', 'postcode']),
    )
  })
})

describe('Gift Aid', () => {
  test('its details are not needed when Gift Aid is not ticked', () => {
    expect(valueOf(parse({ fullName: '', postcode: 'nonsense' })).giftAid).toBeNull()
  })

  test('its details are all required when it is ticked', () => {
    const errors = errorsOf(parse({ giftAid: 'on' }))
    expect(errors.ukTaxpayer?.[0]).toMatch(/Confirm you are a UK taxpayer/)
    expect(errors.fullName).toEqual(['Enter your full name for the Gift Aid declaration'])
    expect(errors.houseNameOrNumber).toEqual(['Enter your house name or number'])
    expect(errors.address).toEqual(['Enter your address'])
    expect(errors.postcode?.[0]).toMatch(/Enter your postcode/)
  })

  test('a complete declaration comes through with the postcode normalised', () => {
    expect(valueOf(parse(giftAidDetails)).giftAid).toEqual({
      fullName: 'Maryam Ahmed',
      houseNameOrNumber: '12',
      address: 'High Street, Leeds',
      postcode: 'LS1 4AP',
    })
  })

  test('a postcode that is not a UK one is refused', () => {
    expect(errorsOf(parse({ ...giftAidDetails, postcode: '75001' })).postcode).toEqual(['Enter a UK postcode, like SW1A 1AA'])
  })

  test('is ignored where it is not offered', () => {
    expect(valueOf(parse({ giftAid: 'on' }, { currency: 'GBP', giftAidAvailable: false })).giftAid).toBeNull()
  })

  test('normaliseUkPostcode upper-cases and puts one space before the inward code', () => {
    expect(normaliseUkPostcode('sw1a1aa')).toBe('SW1A 1AA')
    expect(normaliseUkPostcode('  ec1a   1bb ')).toBe('EC1A 1BB')
    expect(normaliseUkPostcode('M1 1AE')).toBe('M1 1AE')
    expect(normaliseUkPostcode('b338th')).toBe('B33 8TH')
    expect(normaliseUkPostcode('gir 0aa')).toBe('GIR 0AA')
    expect(normaliseUkPostcode('SW1A')).toBeNull()
    expect(normaliseUkPostcode('12345')).toBeNull()
    expect(normaliseUkPostcode('SW1A 1AAA')).toBeNull()
  })

  test('the declaration names the charity and the gift', () => {
    const text = giftAidDeclaration('CAGE', '£25')
    expect(text).toMatch(/^I want to Gift Aid my donation of £25 and any donations I make in the future or have made in the past 4 years to CAGE\./)
    expect(text).toMatch(/it is my responsibility to pay any difference\.$/)
    expect(giftAidDeclaration('CAGE')).toMatch(/^I want to Gift Aid my donation and any donations/)
  })
})

describe('toDonationRequest', () => {
  test('builds what checkout needs', () => {
    const request = toDonationRequest(
      valueOf(parse({ ...giftAidDetails, message: '  With you  ', showMessage: 'on', amount: 'other', customAmount: '30' })),
      'appeal-1',
    )
    expect(request).toEqual({
      appealId: 'appeal-1',
      submissionId: '6f1c3c1e-8d4e-4c57-9a57-0f5d2b8e4a11',
      frequency: 'one_off',
      amountMinor: 3_000,
      coverFee: false,
      name: 'Maryam',
      email: 'maryam@example.org',
      message: 'With you',
      showName: false,
      showAmount: false,
      showMessage: true,
      updatesOptIn: false,
      giftAid: { fullName: 'Maryam Ahmed', houseNameOrNumber: '12', address: 'High Street, Leeds', postcode: 'LS1 4AP' },
    })
  })

  test('an empty message is no message, and there is then nothing to show', () => {
    const request = toDonationRequest(valueOf(parse({ message: '   ', showMessage: 'on' })), 'appeal-1')
    expect(request.message).toBeNull()
    expect(request.showMessage).toBe(false)
  })
})

test('control characters (a NUL above all, which the database cannot store) are refused with a message', () => {
  expect(errorsOf(parse({ name: 'Mar\u0000yam' })).name).toEqual(['Remove the unusual characters from this field'])
  expect(errorsOf(parse({ message: 'Stay\u0007 strong' })).message).toEqual(['Remove the unusual characters from this field'])
  // Line breaks in a message are ordinary text.
  expect(valueOf(parse({ message: 'Stay strong.\r\nWe are with you.' })).message).toBe('Stay strong.\r\nWe are with you.')
})
