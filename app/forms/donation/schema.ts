import { z } from 'zod'
import { formatMoney, isStripeAmount, minorUnitExponent, stripeStepMessage } from '#app/utils/money.ts'
import { personNameProblem, personNameText, plainText, requiredText } from '#app/utils/text-input.ts'
import { donationLimits } from '#app/modules/donations/amounts.ts'
import { characterCount, chosenAmountMinor, MESSAGE_MAX_CHARACTERS, OTHER_AMOUNT } from './fields.ts'
import type { DonationRequest } from '#app/modules/donations/checkout-request.ts'

/**
 * The donation form's rules, shared by the server (the action) and the browser (conform's
 * instant validation), so this module must never import server code. What the form needs before
 * the schema has loaded is in donation-form-fields.ts, re-exported here.
 */

export { characterCount, chosenAmountMinor, MESSAGE_MAX_CHARACTERS, OTHER_AMOUNT }
const NAME_MAX = 100
const EMAIL_MAX = 254
const GIFT_AID_NAME_MAX = 200
const HOUSE_MAX = 100
const ADDRESS_MAX = 300

export type DonationFormOptions = { currency: string; giftAidAvailable: boolean }

/** "sw1a1aa" → "SW1A 1AA"; null when it is not the shape of a UK postcode. */
export function normaliseUkPostcode(input: string): string | null {
  const compact = input.replace(/\s+/g, '').toUpperCase()
  if (compact === 'GIR0AA') return 'GIR 0AA'
  const match = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/.exec(compact)
  return match ? `${match[1]} ${match[2]}` : null
}

function amountFormatHint(currency: string): string {
  const exponent = minorUnitExponent(currency)
  if (exponent === 0) return 'Enter the amount as a whole number, like 1500'
  return `Enter the amount as a number, like 25 or 25.${'5'.padEnd(exponent, '0')}`
}

const checkbox = () => z.boolean().default(false)


export function createDonationFormSchema({ currency, giftAidAvailable }: DonationFormOptions) {
  const { minMinor, maxMinor } = donationLimits(currency)
  const tooSmall = `The smallest gift we can take is ${formatMoney(minMinor, currency)}`
  const tooLarge = `The largest gift we can take online is ${formatMoney(maxMinor, currency)}. For a larger gift, please contact us`

  const donor = z.object({
    submissionId: z
      .string({ required_error: 'This form has expired. Reload the page and try again' })
      .uuid('This form has expired. Reload the page and try again'),
    frequency: z
      .enum(['one_off', 'monthly'], { errorMap: () => ({ message: 'Choose whether to give once or every month' }) })
      .default('one_off'),
    coverFee: checkbox(),
    // Printed in the email to the address typed below: a name, never a line of text or a link.
    name: personNameText('Enter your name', NAME_MAX, `Your name must be ${NAME_MAX} characters or fewer`),
    email: requiredText('Enter your email address so we can send your receipt').pipe(
      z
        .string()
        .max(EMAIL_MAX, `Your email address must be ${EMAIL_MAX} characters or fewer`)
        .email('Enter your email address in the right format, like name@example.com'),
    ),
    message: plainText()
      .transform((text) => text.trim())
      .refine(
        (text) => characterCount(text) <= MESSAGE_MAX_CHARACTERS,
        (text) => ({
          message: `Your message must be ${MESSAGE_MAX_CHARACTERS} characters or fewer. It has ${characterCount(text)}`,
        }),
      )
      .optional(),
    showName: checkbox(),
    showAmount: checkbox(),
    showMessage: checkbox(),
    updatesOptIn: checkbox(),
    // A field people never see: only a form-filling robot puts anything in it.
    website: z.string().max(0, 'Leave this field empty').optional(),
  })

  const gift = z
    .object({
      amount: z.string({ required_error: 'Choose an amount, or choose Other amount and type one in' }),
      customAmount: z.string().optional(),
    })
    .transform(({ amount, customAmount }, ctx) => {
      const field = amount === OTHER_AMOUNT ? 'customAmount' : 'amount'
      const fail = (message: string) => {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message })
        return z.NEVER
      }
      if (amount === OTHER_AMOUNT && !customAmount?.trim()) return fail('Enter the amount you would like to give')
      const amountMinor = chosenAmountMinor(amount, customAmount, currency)
      if (amountMinor === null) {
        return fail(
          amount === OTHER_AMOUNT
            ? amountFormatHint(currency)
            : 'Choose an amount, or choose Other amount and type one in',
        )
      }
      if (amountMinor < minMinor) return fail(tooSmall)
      if (amountMinor > maxMinor) return fail(tooLarge)
      // Refused rather than rounded: the person sees exactly what they will be charged.
      if (!isStripeAmount(amountMinor, currency)) return fail(stripeStepMessage(currency))
      return { amount, customAmount, amountMinor }
    })

  const optionalText = plainText().transform((text) => text.trim()).optional()
  const giftAid = z
    .object({
      giftAid: checkbox(),
      ukTaxpayer: checkbox(),
      fullName: optionalText,
      houseNameOrNumber: optionalText,
      address: optionalText,
      postcode: optionalText,
    })
    .transform((value, ctx) => {
      // A ticked box on an appeal without Gift Aid (an old page, a crafted request) is ignored.
      if (!giftAidAvailable || !value.giftAid) return { giftAid: null }
      let complete = true
      const issue = (path: string, message: string) => {
        complete = false
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message })
      }
      const text = (path: string, input: string | undefined, missing: string, label: string, max: number) => {
        const value = input ?? ''
        if (!value) issue(path, missing)
        else if (value.length > max) issue(path, `${label} must be ${max} characters or fewer`)
        return value
      }

      if (!value.ukTaxpayer) issue('ukTaxpayer', 'Confirm you are a UK taxpayer, or untick Gift Aid if you are not')
      const fullName = text('fullName', value.fullName, 'Enter your full name for the Gift Aid declaration', 'Your full name', GIFT_AID_NAME_MAX)
      const fullNameProblem = fullName ? personNameProblem(fullName) : null
      if (fullNameProblem) issue('fullName', fullNameProblem)
      const houseNameOrNumber = text('houseNameOrNumber', value.houseNameOrNumber, 'Enter your house name or number', 'Your house name or number', HOUSE_MAX)
      const address = text('address', value.address, 'Enter your address', 'Your address', ADDRESS_MAX)
      const postcode = value.postcode ? normaliseUkPostcode(value.postcode) : null
      if (!value.postcode) issue('postcode', 'Enter your postcode: HMRC needs it to accept Gift Aid')
      else if (!postcode) issue('postcode', 'Enter a UK postcode, like SW1A 1AA')

      if (!complete || !postcode) return z.NEVER
      return { giftAid: { fullName, houseNameOrNumber, address, postcode } }
    })

  // An intersection validates every part even when another fails, so a person sees all their
  // mistakes at once rather than one round trip per refinement.
  return donor.and(gift).and(giftAid)
}

export type DonationFormSchema = ReturnType<typeof createDonationFormSchema>
export type DonationFormInput = z.input<DonationFormSchema>
export type DonationFormValue = z.output<DonationFormSchema>

export function toDonationRequest(parsed: DonationFormValue, appealId: string): DonationRequest {
  return {
    appealId,
    submissionId: parsed.submissionId,
    frequency: parsed.frequency,
    amountMinor: parsed.amountMinor,
    coverFee: parsed.coverFee,
    name: parsed.name,
    email: parsed.email,
    message: parsed.message ? parsed.message : null,
    showName: parsed.showName,
    showAmount: parsed.showAmount,
    // Nothing to show without a message, whatever the box said.
    showMessage: parsed.message ? parsed.showMessage : false,
    updatesOptIn: parsed.updatesOptIn,
    giftAid: parsed.giftAid,
  }
}
