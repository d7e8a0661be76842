import { parseAmountToMinor } from '#app/utils/money.ts'

/**
 * The donation form's plain values and helpers, for the form in the browser without the schema:
 * the schema (schema.ts) brings zod, which the page loads only when someone starts giving.
 */

export const OTHER_AMOUNT = 'other'
export const MESSAGE_MAX_CHARACTERS = 500

/** Characters as a person (and PostgreSQL's char_length) counts them: an emoji is one, not two. */
export function characterCount(text: string): number {
  return Array.from(text).length
}

/**
 * The gift the form describes, in minor units, or null while it does not describe one yet.
 * Used for live labels in the browser as well as by the schema. An amount typed in the box wins
 * over a ticked suggestion: without JavaScript both can be filled in, and a person who typed one
 * meant it (£50 ticked and 7 typed is £7, not £50). With JavaScript the box is disabled, and so
 * not sent, while a suggestion is chosen (donation-form.tsx).
 */
export function chosenAmountMinor(amount: string | undefined, customAmount: string | undefined, currency: string) {
  if (customAmount?.trim()) return parseAmountToMinor(customAmount, currency)
  if (amount && /^\d{1,15}$/.test(amount)) return Number(amount)
  return null
}
