import { z } from 'zod'
import { formatMoney, isStripeAmount, minorUnitExponent, parseAmountToMinor, stripeStepMessage } from '#app/utils/money.ts'
import { personNameText, plainText, requiredText } from '#app/utils/text-input.ts'
import { ACCESS_NEEDS_HINT, ACCESS_NEEDS_MAX_CHARACTERS, ticketNeedsPayment, type RegistrationTicketType } from './fields.ts'
import type { RegistrationRequest } from '#app/modules/registrations/registration-request.ts'

/**
 * The event registration form's rules, shared by the server (the action) and the browser
 * (conform's instant validation), so this module must never import server code. What the form
 * needs before the schema has loaded is in registration-form-fields.ts, re-exported here.
 */

export const NAME_MAX = 100
export const EMAIL_MAX = 254
/** The most one place may cost when a person names their own price: a slip of the keyboard, not a gift. */
const CHOSEN_PRICE_MAX_UNITS = 10_000

export const PRIVACY_CONSENT_MESSAGE = 'Please agree to the privacy notice so we can hold your place'
export const EXPIRED_FORM_MESSAGE = 'This form has expired. Reload the page and try again'

export { ACCESS_NEEDS_HINT, ACCESS_NEEDS_MAX_CHARACTERS, ticketNeedsPayment, type RegistrationTicketType }

export type RegistrationFormOptions = {
  ticketTypes: RegistrationTicketType[]
  maxPerOrder: number
}

/** Characters as a person (and PostgreSQL's char_length) counts them: an emoji is one, not two. */
export function characterCount(text: string): number {
  return Array.from(text).length
}

export function quantityMessage(maxPerOrder: number) {
  return `You can book up to ${maxPerOrder} ${maxPerOrder === 1 ? 'place' : 'places'} at once`
}

export function minimumPriceMessage(minPriceMinor: number, currency: string) {
  return `The minimum for this ticket is ${formatMoney(minPriceMinor, currency)}`
}

function amountFormatHint(currency: string): string {
  const exponent = minorUnitExponent(currency)
  if (exponent === 0) return 'Enter the amount as a whole number, like 1500'
  return `Enter the amount as a number, like 10 or 10.${'5'.padEnd(exponent, '0')}`
}


export function createRegistrationFormSchema({ ticketTypes, maxPerOrder }: RegistrationFormOptions) {
  const tooMany = quantityMessage(maxPerOrder)

  const person = z.object({
    submissionId: z.string({ required_error: EXPIRED_FORM_MESSAGE }).uuid(EXPIRED_FORM_MESSAGE),
    quantity: z
      .number({ required_error: 'Choose how many places you would like', invalid_type_error: 'Choose how many places you would like' })
      .int(tooMany)
      .min(1, 'Book at least 1 place')
      .max(maxPerOrder, tooMany),
    // Printed in the email to the address typed below: a name, never a line of text or a link.
    name: personNameText('Enter your name', NAME_MAX, `Your name must be ${NAME_MAX} characters or fewer`),
    email: requiredText('Enter your email address so we can send your confirmation').pipe(
      z
        .string()
        .max(EMAIL_MAX, `Your email address must be ${EMAIL_MAX} characters or fewer`)
        .email('Enter your email address in the right format, like name@example.com'),
    ),
    accessNeeds: plainText()
      .transform((text) => text.trim())
      .refine(
        (text) => characterCount(text) <= ACCESS_NEEDS_MAX_CHARACTERS,
        (text) => ({
          message: `Your access needs must be ${ACCESS_NEEDS_MAX_CHARACTERS} characters or fewer. They have ${characterCount(text)}`,
        }),
      )
      .optional(),
    // conform sends an unticked box as nothing at all, and a ticked one as "on" (a boolean here).
    privacyConsent: z
      .boolean({ required_error: PRIVACY_CONSENT_MESSAGE, invalid_type_error: PRIVACY_CONSENT_MESSAGE })
      .refine((ticked) => ticked, PRIVACY_CONSENT_MESSAGE),
    // A field people never see: only a form-filling robot puts anything in it.
    website: z.string().max(0, 'Leave this field empty').optional(),
  })

  const ticket = z
    .object({
      ticketTypeId: z.string({ required_error: 'Choose a ticket' }),
      chosenPrice: z.string().optional(),
    })
    .transform(({ ticketTypeId, chosenPrice }, ctx) => {
      const fail = (path: 'ticketTypeId' | 'chosenPrice', message: string) => {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message })
        return z.NEVER
      }
      const chosen = ticketTypes.find((type) => type.id === ticketTypeId)
      if (!chosen) return fail('ticketTypeId', 'Choose one of the tickets for this event')
      // Only a pay-what-you-can ticket has a price to name; anything typed for another is ignored.
      if (chosen.kind !== 'pay_what_you_can') return { ticketTypeId, chosenPriceMinor: null }

      const typed = chosenPrice?.trim() ?? ''
      if (!typed) return fail('chosenPrice', 'Enter the amount you would like to pay for each place')
      const amountMinor = parseAmountToMinor(typed, chosen.currency)
      if (amountMinor === null) return fail('chosenPrice', amountFormatHint(chosen.currency))
      if (amountMinor < chosen.minPriceMinor) return fail('chosenPrice', minimumPriceMessage(chosen.minPriceMinor, chosen.currency))
      const maxMinor = CHOSEN_PRICE_MAX_UNITS * 10 ** minorUnitExponent(chosen.currency)
      if (amountMinor > maxMinor) {
        return fail(
          'chosenPrice',
          `The most we can take online for one place is ${formatMoney(maxMinor, chosen.currency)}. To give more, please make a donation`,
        )
      }
      // Refused rather than rounded: the person sees exactly what they will be charged.
      if (!isStripeAmount(amountMinor, chosen.currency)) return fail('chosenPrice', stripeStepMessage(chosen.currency))
      return { ticketTypeId, chosenPriceMinor: amountMinor }
    })

  // An intersection validates both parts even when one fails, so a person sees all their
  // mistakes at once rather than one round trip per refinement.
  return person.and(ticket)
}

export type RegistrationFormSchema = ReturnType<typeof createRegistrationFormSchema>
export type RegistrationFormInput = z.input<RegistrationFormSchema>
export type RegistrationFormValue = z.output<RegistrationFormSchema>

export function toRegistrationRequest(value: RegistrationFormValue, eventId: string): RegistrationRequest {
  return {
    eventId,
    ticketTypeId: value.ticketTypeId,
    submissionId: value.submissionId,
    name: value.name,
    email: value.email,
    quantity: value.quantity,
    accessNeeds: value.accessNeeds ? value.accessNeeds : null,
    chosenPriceMinor: value.chosenPriceMinor,
  }
}
