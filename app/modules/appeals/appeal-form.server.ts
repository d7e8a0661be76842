import { parseWithZod } from '@conform-to/zod'
import { z } from 'zod'
import { donationLimits } from '#app/modules/donations/amounts.ts'
import { formatMoney, isStripeAmount, minorUnitExponent, parseAmountToMinor, stripeStepMessage, SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { plainText, requiredText } from '#app/utils/text-input.ts'
import { wallClockMs } from '#app/utils/dates.ts'
import { readAppealForm, checkPhoto } from '#app/modules/appeals/photos/upload.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/**
 * The staff appeal form: its schema (shared by the new and edit pages), the text helpers that
 * show stored amounts and dates back in the form, and reading a submission with its photo.
 */

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const MAX_SUGGESTED_AMOUNTS = 6

export const limited = (max: number, label: string) => z.string().max(max, `${label} must be ${max.toLocaleString('en-GB')} characters or fewer`)
const optionalText = (max: number, label: string) =>
  plainText()
    .transform((text) => text.trim())
    .pipe(limited(max, label))
    .optional()
export const checkbox = () => z.boolean().default(false)
/** Browsers send a textarea's line breaks as CRLF; the database keeps plain LF. */
export const unixLineBreaks = (text: string) => text.replace(/\r\n?/g, '\n')

function amountExample(currency: string) {
  const exponent = minorUnitExponent(currency)
  return exponent === 0 ? '150,000' : `1,500.${'0'.repeat(exponent)}`
}

export const appealFormSchema = z
  .object({
    title: requiredText('Enter a title').pipe(limited(200, 'The title')),
    slug: requiredText('Enter the web address (slug)').pipe(
      limited(80, 'The web address').regex(SLUG_PATTERN, 'Use only lower-case letters, digits and single hyphens, like help-yusuf-walk'),
    ),
    summary: requiredText('Enter a short summary').pipe(limited(500, 'The summary')),
    beneficiaryName: requiredText('Enter the name to show for the person the appeal is for').pipe(limited(200, 'The name')),
    beneficiaryIsPseudonym: checkbox(),
    photoAlt: optionalText(300, 'The photo description'),
    removePhoto: checkbox(),
    storyMarkdown: requiredText('Write the story').pipe(limited(50_000, 'The story')).transform(unixLineBreaks),
    currency: z.enum(SUPPORTED_CURRENCIES, { errorMap: () => ({ message: 'Choose a currency from the list' }) }),
    goal: requiredText('Enter the goal'),
    suggestedAmounts: plainText().optional(),
    // Checked here, not with the amounts below, so its error shows even when another field fails.
    closesOn: z
      .string()
      .optional()
      .transform((day, ctx) => {
        if (!day) return null
        const closesAt = endOfDayInZone(day, organisationTimeZone())
        if (!closesAt) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Enter the closing date as a real date, like 2026-12-31' })
        return closesAt
      }),
  })
  .transform((value, ctx) => {
    const fail = (field: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message })
    const { currency } = value
    const goalMinor = parseAmountToMinor(value.goal, currency)
    if (goalMinor === null) fail('goal', `Enter the goal as an amount in ${currency}, like ${amountExample(currency)}`)
    else if (goalMinor <= 0) fail('goal', 'The goal must be more than zero')

    const suggestedAmountsMinor = parseSuggestedAmounts(value.suggestedAmounts ?? '', currency, (message) => fail('suggestedAmounts', message))

    const { goal: _goal, suggestedAmounts: _suggested, closesOn, ...rest } = value
    return { ...rest, photoAlt: rest.photoAlt || null, goalMinor: goalMinor ?? 0, suggestedAmountsMinor: suggestedAmountsMinor ?? [], closesAt: closesOn }
  })

export type AppealInput = z.output<typeof appealFormSchema>

/** "10, 25, 50" in major units → sorted, distinct minor units within what checkout accepts. */
function parseSuggestedAmounts(text: string, currency: string, fail: (message: string) => void): number[] | null {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
  if (parts.length > MAX_SUGGESTED_AMOUNTS) {
    fail(`Suggest at most ${MAX_SUGGESTED_AMOUNTS} amounts`)
    return null
  }
  // The same ceiling as the donation form, or a suggested amount could be one the form refuses.
  const { minMinor, maxMinor } = donationLimits(currency, getEnv().DONATION_MAX_GBP)
  const amounts: number[] = []
  for (const part of parts) {
    const minor = parseAmountToMinor(part, currency)
    if (minor === null) {
      fail(`“${part.slice(0, 20)}” is not an amount in ${currency}. Separate amounts with commas, like 10, 25, 50`)
      return null
    }
    if (minor < minMinor || minor > maxMinor) {
      fail(`Each suggested amount must be between ${formatMoney(minMinor, currency)} and ${formatMoney(maxMinor, currency)}`)
      return null
    }
    // A suggested amount is sent to Stripe as it stands: it must be one Stripe takes (KWD 2.510, not 2.505).
    if (!isStripeAmount(minor, currency)) {
      fail(stripeStepMessage(currency))
      return null
    }
    amounts.push(minor)
  }
  return [...new Set(amounts)].sort((a, b) => a - b)
}

/** The suggested amounts as a person would type them again: "10, 25, 50". */
export function suggestedAmountsText(amountsMinor: number[], currency: string) {
  return amountsMinor.map((minor) => majorUnitsText(Number(minor), currency, false)).join(', ')
}

/** 150000 minor GBP → "1,500.00"; 150000 JPY → "150,000". Grouping is optional (off for lists). */
export function majorUnitsText(amountMinor: number, currency: string, grouping = true) {
  const exponent = minorUnitExponent(currency)
  return new Intl.NumberFormat('en-GB', { minimumFractionDigits: exponent, maximumFractionDigits: exponent, useGrouping: grouping }).format(
    amountMinor / 10 ** exponent,
  )
}


/** "2026-12-31" → the instant that day ends in the zone (midnight starting the next day); null if no such date. */
export function endOfDayInZone(day: string, timeZone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.trim())
  if (!match) return null
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const check = new Date(Date.UTC(year, month - 1, date))
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null
  const nextMidnightWallClock = Date.UTC(year, month - 1, date + 1)
  // Twice: the first guess may sit on the other side of a clock change from the answer.
  const offsetAt = (instant: number) => wallClockMs(instant, timeZone) - instant
  let instant = nextMidnightWallClock - offsetAt(nextMidnightWallClock)
  instant = nextMidnightWallClock - offsetAt(instant)
  return new Date(instant)
}

/**
 * The calendar day (YYYY-MM-DD) an appeal closing at `closesAt` closes on, for the date input.
 * Closing dates are calendar days where the organisation works; the appeal closes at the day's end.
 */
export function closingDay(closesAt: Date, timeZone = organisationTimeZone()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(closesAt.getTime() - 1),
  )
}


/**
 * The appeal form as submitted: conform's reading of the fields, which button was pressed, the
 * story as typed (for the preview) and the photo, checked. Throws UploadRefused for a request
 * that is not our form at all (not multipart, too many or too large fields).
 */
export async function readAppealSubmission(request: Request) {
  const { formData, photo } = await readAppealForm(request)
  const story = formData.get('storyMarkdown')
  return {
    submission: parseWithZod(formData, { schema: appealFormSchema }),
    intent: formData.get('intent') === 'preview' ? ('preview' as const) : ('save' as const),
    story: typeof story === 'string' ? story : '',
    photo: await checkPhoto(photo),
  }
}
