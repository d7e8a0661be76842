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

// Issue 13: one tick for the declaration, and the name given once (no ukTaxpayer, no fullName).
const giftAidDetails = {
  giftAid: 'on',
  name: 'Maryam Ahmed',
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
      /largest gift we can take online is £25,000\./,
    )
  })

  test('a tampered suggested amount is held to the same limits', () => {
    expect(errorsOf(parse({ amount: '1' })).amount?.[0]).toMatch(/smallest gift/)
  })

  test('"Other amount" needs an amount typed in', () => {
    expect(errorsOf(parse({ amount: 'other', customAmount: '' })).customAmount).toEqual([
      'Enter the amount you would like to give',
    ])
    expect(errorsOf(parse({ amount: 'other', customAmount: 'ten pounds' })).customAmount?.[0]).toMatch(/like 25, 25\.50 or 1,000/)
  })

  // Issue 13 reversed this: without JavaScript both can be filled in, and the typed amount is meant.
  test('a typed amount wins over a ticked suggestion, and its mistakes are the box\'s', () => {
    expect(valueOf(parse({ amount: '5000', customAmount: '7' })).amountMinor).toBe(700)
    expect(errorsOf(parse({ amount: '1000', customAmount: 'rubbish' })).customAmount?.[0]).toMatch(/Enter the amount in GBP/)
    expect(valueOf(parse({ amount: '5000', customAmount: '   ' })).amountMinor).toBe(5_000)
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
    expect(chosenAmountMinor(undefined, '10', 'GBP')).toBe(1_000)
    expect(chosenAmountMinor('5000', '7', 'GBP')).toBe(700)
  })

  test('"£20", "20.00", "1,000" and "1,000.50" are all amounts; another currency\'s symbol is not', () => {
    expect(valueOf(parse({ amount: 'other', customAmount: '£20' })).amountMinor).toBe(2_000)
    expect(valueOf(parse({ amount: 'other', customAmount: '20.00' })).amountMinor).toBe(2_000)
    expect(valueOf(parse({ amount: 'other', customAmount: '1,000' })).amountMinor).toBe(100_000)
    expect(valueOf(parse({ amount: 'other', customAmount: '£1,000.50' })).amountMinor).toBe(100_050)
    expect(errorsOf(parse({ amount: 'other', customAmount: '$20' })).customAmount?.[0]).toMatch(/in GBP/)
    const yen = { currency: 'JPY', giftAidAvailable: false }
    expect(valueOf(parse({ amount: 'other', customAmount: '¥1,500' }, yen)).amountMinor).toBe(1_500)
    const dinar = { currency: 'KWD', giftAidAvailable: false }
    expect(valueOf(parse({ amount: 'other', customAmount: 'KWD 1,000.50' }, dinar)).amountMinor).toBe(1_000_500)
  })

  test('the ceiling is the DONATION_MAX_GBP setting, about the same in other currencies, and says whom to ask', () => {
    expect(errorsOf(parse({ amount: 'other', customAmount: '99,999,999,999' })).customAmount?.[0]).toBe(
      'The largest gift we can take online is £25,000. For a larger gift, please contact us',
    )
    const lower = { ...GBP, maxGbp: 10_000 }
    expect(errorsOf(parse({ amount: 'other', customAmount: '10,000.01' }, lower)).customAmount?.[0]).toMatch(/£10,000\./)
    expect(valueOf(parse({ amount: 'other', customAmount: '10,000' }, lower)).amountMinor).toBe(1_000_000)
    const dinar = { currency: 'KWD', giftAidAvailable: false }
    expect(errorsOf(parse({ amount: 'other', customAmount: '25,000' }, dinar)).customAmount?.[0]).toMatch(/largest gift/)
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
      expect.arrayContaining(['email', 'customAmount', 'houseNameOrNumber', 'address', 'postcode']),
    )
  })
})

describe('Gift Aid', () => {
  test('its details are not needed when Gift Aid is not ticked', () => {
    expect(valueOf(parse({ houseNameOrNumber: '', postcode: 'nonsense' })).giftAid).toBeNull()
  })

  test('its details are all required when it is ticked', () => {
    const errors = errorsOf(parse({ giftAid: 'on', name: 'Maryam Ahmed' }))
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

  test('one tick is the declaration, and the donor\'s name is its name: nothing is typed twice', () => {
    const value = valueOf(parse({ giftAid: 'on', name: '  Amina  Yusuf ', houseNameOrNumber: '3', address: 'Mill Road, Leeds', postcode: 'ls1 4ap' }))
    expect(value.giftAid).toEqual({ fullName: 'Amina  Yusuf', houseNameOrNumber: '3', address: 'Mill Road, Leeds', postcode: 'LS1 4AP' })
  })

  test('a one-word name cannot go on HMRC\'s schedule, so Gift Aid asks for the full name on the name field', () => {
    const errors = errorsOf(parse({ ...giftAidDetails, name: 'Maryam' }))
    expect(errors.name).toEqual(['For Gift Aid, enter your full name, with your first name and surname: HMRC needs both'])
    expect(valueOf(parse({ ...giftAidDetails, name: 'Maryam', giftAid: '' })).giftAid).toBeNull()
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
      name: 'Maryam Ahmed',
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
