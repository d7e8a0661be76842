import { parseWithZod } from '@conform-to/zod'
import { describe, expect, test } from 'vitest'
import {
  createRegistrationFormSchema,
  ticketNeedsPayment,
  toRegistrationRequest,
  type RegistrationFormOptions,
} from '#app/forms/registration/schema.ts'

const FREE = '0b8f6f57-8f0e-4f57-9f57-000000000001'
const PWYC = '0b8f6f57-8f0e-4f57-9f57-000000000002'
const PAID = '0b8f6f57-8f0e-4f57-9f57-000000000003'
const SUBMISSION = '6f1c3c1e-8d4e-4c57-9a57-0f5d2b8e4a11'

const OPTIONS: RegistrationFormOptions = {
  ticketTypes: [
    { id: FREE, kind: 'free', priceMinor: 0, minPriceMinor: 0, currency: 'GBP' },
    { id: PWYC, kind: 'pay_what_you_can', priceMinor: 1_000, minPriceMinor: 300, currency: 'GBP' },
    { id: PAID, kind: 'paid', priceMinor: 4_500, minPriceMinor: 0, currency: 'GBP' },
  ],
  maxPerOrder: 4,
}

function formData(fields: Record<string, string | null>) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) if (value !== null) form.set(name, value)
  return form
}

/** Parses the way the action and the browser do: from FormData, with conform's coercion. */
function parse(fields: Record<string, string | null> = {}, options: RegistrationFormOptions = OPTIONS) {
  return parseWithZod(
    formData({
      submissionId: SUBMISSION,
      ticketTypeId: FREE,
      quantity: '1',
      name: 'Maryam',
      email: 'maryam@example.org',
      privacyConsent: 'on',
      ...fields,
    }),
    { schema: createRegistrationFormSchema(options) },
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

describe('a valid registration', () => {
  test('a free place becomes a registration request with no price', () => {
    const value = valueOf(parse({ name: '  Maryam Ahmed ', email: ' maryam@example.org ', accessNeeds: '' }))
    expect(toRegistrationRequest(value, 'event-1')).toEqual({
      eventId: 'event-1',
      ticketTypeId: FREE,
      submissionId: SUBMISSION,
      name: 'Maryam Ahmed',
      email: 'maryam@example.org',
      quantity: 1,
      accessNeeds: null,
      chosenPriceMinor: null,
    })
  })

  test('access needs are kept, trimmed', () => {
    const value = valueOf(parse({ accessNeeds: '  Step-free access, please \n' }))
    expect(toRegistrationRequest(value, 'e').accessNeeds).toBe('Step-free access, please')
  })

  test('pay what you can: the amount is parsed into minor units', () => {
    const value = valueOf(parse({ ticketTypeId: PWYC, chosenPrice: '7.50', quantity: '2' }))
    expect(toRegistrationRequest(value, 'e')).toMatchObject({ ticketTypeId: PWYC, chosenPriceMinor: 750, quantity: 2 })
  })

  test('pay what you can: exactly the minimum is enough, and "1,000" is a thousand pounds', () => {
    expect(valueOf(parse({ ticketTypeId: PWYC, chosenPrice: '3' })).chosenPriceMinor).toBe(300)
    expect(valueOf(parse({ ticketTypeId: PWYC, chosenPrice: '1,000' })).chosenPriceMinor).toBe(100_000)
  })

  test('an amount typed for a ticket that is not pay what you can is ignored', () => {
    expect(valueOf(parse({ ticketTypeId: FREE, chosenPrice: '12' })).chosenPriceMinor).toBeNull()
    expect(valueOf(parse({ ticketTypeId: PAID, chosenPrice: 'nonsense' })).chosenPriceMinor).toBeNull()
  })

  test('the most places one order may book is accepted', () => {
    expect(valueOf(parse({ quantity: '4' })).quantity).toBe(4)
  })
})

describe('what the form refuses', () => {
  test('more places than one order may book', () => {
    expect(errorsOf(parse({ quantity: '5' })).quantity).toEqual(['You can book up to 4 places at once'])
  })

  test('"up to 1 place" for an event that takes one booking at a time', () => {
    const errors = errorsOf(parse({ quantity: '2' }, { ...OPTIONS, maxPerOrder: 1 }))
    expect(errors.quantity).toEqual(['You can book up to 1 place at once'])
  })

  test.each([
    ['0', 'Book at least 1 place'],
    ['1.5', 'You can book up to 4 places at once'],
    ['many', 'Choose how many places you would like'],
  ])('a quantity of %j', (quantity, message) => {
    expect(errorsOf(parse({ quantity })).quantity).toEqual([message])
  })

  test('pay what you can below the minimum names the minimum', () => {
    expect(errorsOf(parse({ ticketTypeId: PWYC, chosenPrice: '2.99' })).chosenPrice).toEqual([
      'The minimum for this ticket is £3.00',
    ])
  })

  test('pay what you can without an amount, or with one that is not money', () => {
    expect(errorsOf(parse({ ticketTypeId: PWYC })).chosenPrice).toEqual([
      'Enter the amount you would like to pay for each place',
    ])
    expect(errorsOf(parse({ ticketTypeId: PWYC, chosenPrice: '3.505' })).chosenPrice?.[0]).toMatch(/Enter the amount as a number/)
    expect(errorsOf(parse({ ticketTypeId: PWYC, chosenPrice: '-5' })).chosenPrice?.[0]).toMatch(/Enter the amount as a number/)
  })

  test('pay what you can above what one place may cost', () => {
    expect(errorsOf(parse({ ticketTypeId: PWYC, chosenPrice: '10000.01' })).chosenPrice?.[0]).toMatch(/The most we can take online/)
  })

  test('a ticket from another event, or none at all', () => {
    expect(errorsOf(parse({ ticketTypeId: crypto.randomUUID() })).ticketTypeId).toEqual([
      'Choose one of the tickets for this event',
    ])
    expect(errorsOf(parse({ ticketTypeId: null })).ticketTypeId).toEqual(['Choose a ticket'])
  })

  test('a missing name or email, or an email that is not one', () => {
    expect(errorsOf(parse({ name: '   ' })).name).toEqual(['Enter your name'])
    expect(errorsOf(parse({ email: '' })).email).toEqual(['Enter your email address so we can send your confirmation'])
    expect(errorsOf(parse({ email: 'maryam.example.org' })).email).toEqual([
      'Enter your email address in the right format, like name@example.com',
    ])
  })

  test('access needs over 1000 characters, counted as a person counts them', () => {
    expect(valueOf(parse({ accessNeeds: '♿'.repeat(1000) })).accessNeeds).toHaveLength(1000)
    expect(errorsOf(parse({ accessNeeds: '🦻'.repeat(1001) })).accessNeeds?.[0]).toMatch(/1000 characters or fewer\. They have 1001/)
  })

  test('the privacy notice must be agreed to', () => {
    expect(errorsOf(parse({ privacyConsent: null })).privacyConsent).toEqual([
      'Please agree to the privacy notice so we can hold your place',
    ])
  })

  test('a filled honeypot', () => {
    expect(errorsOf(parse({ website: 'https://spam.example' })).website).toEqual(['Leave this field empty'])
  })

  test('a missing or malformed submission id', () => {
    expect(errorsOf(parse({ submissionId: null })).submissionId).toBeDefined()
    expect(errorsOf(parse({ submissionId: 'not-a-uuid' })).submissionId).toEqual([
      'This form has expired. Reload the page and try again',
    ])
  })

  test('every mistake is reported at once, the price as well as the name', () => {
    const errors = errorsOf(parse({ ticketTypeId: PWYC, chosenPrice: '1', name: '', privacyConsent: null }))
    expect(Object.keys(errors).sort()).toEqual(['chosenPrice', 'name', 'privacyConsent'])
  })
})

describe('which tickets ask for money', () => {
  test('free never; paid when it has a price; pay what you can when it has a minimum', () => {
    expect(ticketNeedsPayment({ kind: 'free', priceMinor: 0, minPriceMinor: 0 })).toBe(false)
    expect(ticketNeedsPayment({ kind: 'paid', priceMinor: 4_500, minPriceMinor: 0 })).toBe(true)
    expect(ticketNeedsPayment({ kind: 'pay_what_you_can', priceMinor: 1_000, minPriceMinor: 300 })).toBe(true)
    expect(ticketNeedsPayment({ kind: 'pay_what_you_can', priceMinor: 1_000, minPriceMinor: 0 })).toBe(false)
  })
})
