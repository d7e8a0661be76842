import { z } from 'zod'
import { formatMoney, formatMoneyShort, isStripeAmount, minorUnitExponent, stripeStepMessage } from '#app/utils/money.ts'
import { personNameText, plainText, requiredText } from '#app/utils/text-input.ts'
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
const HOUSE_MAX = 100
const ADDRESS_MAX = 300

export type DonationFormOptions = {
  currency: string
  giftAidAvailable: boolean
  /** The `DONATION_MAX_GBP` setting; the default when left out (donations/amounts.ts). */
  maxGbp?: number
}

/** "sw1a1aa" → "SW1A 1AA"; null when it is not the shape of a UK postcode. */
export function normaliseUkPostcode(input: string): string | null {
  const compact = input.replace(/\s+/g, '').toUpperCase()
  if (compact === 'GIR0AA') return 'GIR 0AA'
  const match = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/.exec(compact)
  return match ? `${match[1]} ${match[2]}` : null
}

function amountFormatHint(currency: string): string {
  const exponent = minorUnitExponent(currency)
  if (exponent === 0) return `Enter the amount in ${currency.toUpperCase()} as a whole number, like 1500 or 1,500`
  return `Enter the amount in ${currency.toUpperCase()} as a number, like 25, 25.${'5'.padEnd(exponent, '0')} or 1,000`
}

const checkbox = () => z.boolean().default(false)


export function createDonationFormSchema({ currency, giftAidAvailable, maxGbp }: DonationFormOptions) {
  const { minMinor, maxMinor } = donationLimits(currency, maxGbp)
  const tooSmall = `The smallest gift we can take is ${formatMoney(minMinor, currency)}`
  const tooLarge = `The largest gift we can take online is ${formatMoneyShort(maxMinor, currency)}. For a larger gift, please contact us`

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
      // A typed amount wins over a ticked suggestion (fields.ts), so its mistakes are the box's.
      const typed = Boolean(customAmount?.trim())
      const field = amount === OTHER_AMOUNT || typed ? 'customAmount' : 'amount'
      const fail = (message: string) => {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message })
        return z.NEVER
      }
      if (amount === OTHER_AMOUNT && !typed) return fail('Enter the amount you would like to give')
      const amountMinor = chosenAmountMinor(amount, customAmount, currency)
      if (amountMinor === null) {
        return fail(typed ? amountFormatHint(currency) : 'Choose an amount, or choose Other amount and type one in')
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
      // One tick: the label says "I am a UK taxpayer and I agree to the declaration".
      giftAid: checkbox(),
      // The donor's name, given once at the top of the form, is the declaration's name too (its
      // own checks are the donor part's; this only reads it).
      name: z.string().optional().transform((text) => text?.trim()),
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

      // HMRC's schedule needs a first name and a last name (gift-aid.server.ts splits at the last
      // space); an empty name is the donor part's error already.
      const fullName = value.name ?? ''
      if (fullName && !/\S\s+\S/.test(fullName)) {
        issue('name', 'For Gift Aid, enter your full name, with your first name and surname: HMRC needs both')
      }
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
