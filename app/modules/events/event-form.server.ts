import { parseWithZod } from '@conform-to/zod'
import { z } from 'zod'
import type { EventMode, EventStatus, TicketKind } from '#db/schema.ts'
import { localTimeToInstant } from '#app/utils/dates.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { RATE_LIMIT_MAX } from '#app/utils/rate-limit.server.ts'
import { isStripeAmount, minorUnitExponent, parseAmountToMinor, stripeStepMessage, SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { plainText, requiredText } from '#app/utils/text-input.ts'
import { canonicalTimeZone } from '#app/utils/time-zone.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { checkPhoto, isMultipart, readAppealForm, UploadRefused, type PhotoUpload } from '#app/modules/appeals/photos/upload.server.ts'

/**
 * The staff event form (new and edit pages share it) and how its fields are read.
 *
 * Times are typed as a local date and time in the event's own zone (what the organiser reads on
 * the venue's clock) and stored as UTC instants. Daylight saving makes that mapping uneven:
 * - a local time in the spring gap (Europe/London, 2027-03-28 01:30) never happens, so it is
 *   refused with a message rather than silently moved;
 * - a local time in the autumn overlap (Europe/London, 2027-10-31 01:30 happens twice) is taken as
 *   the first of the two, before the clocks go back (01:30 BST = 00:30 UTC), as RFC 5545 and
 *   Temporal's "compatible" rule do. The form says so, and pages show the zone's abbreviation.
 */

export const BLANK_TICKET_ROWS = 3
const TITLE_MAX = 200
const SLUG_MAX = 100
const SUMMARY_MAX = 300
const DESCRIPTION_MAX = 20_000
const SHORT_TEXT_MAX = 300
const NOTES_MAX = 2_000
const TICKET_NAME_MAX = 100
const CAPACITY_MAX = 100_000
const MAX_PER_ORDER_MAX = 100
const UNPAID_HOLDS_MAX = 10_000


// ── The form ──────────────────────────────────────────────────────────────────────────────────

const optionalText = (max: number, label: string) =>
  plainText()
    .transform((text) => text.trim())
    .pipe(z.string().max(max, `${label} must be ${max.toLocaleString('en-GB')} characters or fewer`))
    .optional()

const boundedText = (missing: string, max: number, label: string) =>
  requiredText(missing).pipe(z.string().max(max, `${label} must be ${max.toLocaleString('en-GB')} characters or fewer`))

const wholeNumber = (label: string, min: number, max: number) =>
  z
    .string({ required_error: `Enter the ${label}` })
    .trim()
    .regex(/^\d{1,9}$/, `Enter the ${label} as a whole number`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `The ${label} must be at least ${min}`)
        .max(max, `The ${label} must be ${max.toLocaleString('en-GB')} or fewer`),
    )

const fieldSchemas = {
  title: boundedText('Enter the event’s title', TITLE_MAX, 'The title'),
  slug: requiredText('Enter the web address name (slug)')
    .transform((slug) => slug.toLowerCase())
    .pipe(
      z
        .string()
        .max(SLUG_MAX, `The slug must be ${SLUG_MAX} characters or fewer`)
        .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use only letters, digits and single hyphens, like rights-night-2027'),
    ),
  summary: boundedText('Enter a one-line summary', SUMMARY_MAX, 'The summary'),
  description: boundedText('Enter the description', DESCRIPTION_MAX, 'The description'),
  startsAt: z.string({ required_error: 'Enter when the event starts' }),
  endsAt: z.string({ required_error: 'Enter when the event ends' }),
  timeZone: z.string({ required_error: 'Enter the event’s time zone, like Europe/London' }),
  mode: z.enum(['in_person', 'online'], { errorMap: () => ({ message: 'Choose in person or online' }) }),
  venueName: optionalText(SHORT_TEXT_MAX, 'The venue name'),
  venueAddress: optionalText(SHORT_TEXT_MAX, 'The venue address'),
  accessNotes: optionalText(NOTES_MAX, 'The access notes'),
  photoAlt: optionalText(SHORT_TEXT_MAX, 'The cover photo description'),
  onlineUrl: optionalText(SHORT_TEXT_MAX, 'The online link'),
  organiserName: boundedText('Enter the organiser’s name', SHORT_TEXT_MAX, 'The organiser’s name'),
  capacity: wholeNumber('capacity', 0, CAPACITY_MAX),
  maxPerOrder: wholeNumber('most places in one registration', 1, MAX_PER_ORDER_MAX),
  // Blank: the UNPAID_HOLDS_PER_CLIENT setting (ADR 023); else no less than it (below).
  unpaidHoldsPerClient: wholeNumber('unpaid bookings from one connection', 1, UNPAID_HOLDS_MAX).optional(),
  // Blank: the REGISTRATION_RATE_LIMIT setting; else no less than it (below).
  registrationRateLimit: wholeNumber('registrations from one connection in ten minutes', 1, RATE_LIMIT_MAX).optional(),
  status: z.enum(['draft', 'published'], { errorMap: () => ({ message: 'Choose draft or published' }) }).default('draft'),
}

const ticketFieldSchemas = {
  id: z.string().uuid('This ticket is not one of this event’s tickets').optional(),
  name: optionalText(TICKET_NAME_MAX, 'The ticket name'),
  kind: z.enum(['free', 'paid', 'pay_what_you_can'], { errorMap: () => ({ message: 'Choose free, paid or pay what you can' }) }).default('free'),
  currency: z.string().default('GBP'),
}

export type TicketChange = {
  /** The row's place in the form, for errors beside its fields. */
  index: number
  id: string | null
  remove: boolean
  name: string
  kind: TicketKind
  priceMinor: number
  minPriceMinor: number
  currency: string
}

const amountHint = (currency: string) =>
  minorUnitExponent(currency) === 0 ? 'as a whole number, like 1500' : `as a number, like 12 or 12.50`

const raw = z.string().optional()
const rawTicket = z.object({ id: raw, name: raw, kind: raw, price: raw, minPrice: raw, currency: raw, remove: raw }).partial()

/**
 * The event form. Every field is read as text first and judged in one pass, so a person sees
 * every problem at once (a missing title and a time that does not exist), not one round at a time.
 */
export const eventFormSchema = z
  .object({
    title: raw, slug: raw, summary: raw, description: raw, startsAt: raw, endsAt: raw, timeZone: raw, mode: raw,
    venueName: raw, venueAddress: raw, accessNotes: raw, onlineUrl: raw, organiserName: raw, capacity: raw,
    maxPerOrder: raw, unpaidHoldsPerClient: raw, registrationRateLimit: raw, status: raw, photoAlt: raw, removePhoto: raw,
    tickets: z.array(rawTicket.optional()).max(50, 'An event can have at most 50 ticket types').default([]),
  })
  .transform((form, ctx) => {
    let failed = false
    const fail = (path: (string | number)[], message: string) => {
      failed = true
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message })
    }
    function check<T>(path: (string | number)[], schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown): T | undefined {
      const result = schema.safeParse(value)
      if (result.success) return result.data
      const message = result.error.issues[0]?.message
      if (message) fail(path, message)
      return undefined
    }
    const field = <K extends keyof typeof fieldSchemas>(name: K) =>
      check([name], fieldSchemas[name] as z.ZodType<z.output<(typeof fieldSchemas)[K]>, z.ZodTypeDef, unknown>, form[name])

    const title = field('title')
    const slug = field('slug')
    const summary = field('summary')
    const description = field('description')
    const organiserName = field('organiserName')
    const mode = field('mode')
    const venueName = field('venueName')
    const venueAddress = field('venueAddress')
    const accessNotes = field('accessNotes')
    const photoAlt = field('photoAlt')
    const onlineUrlText = field('onlineUrl')
    const capacity = field('capacity')
    const maxPerOrder = field('maxPerOrder')
    const unpaidHoldsPerClient = form.unpaidHoldsPerClient?.trim() ? field('unpaidHoldsPerClient') : null
    const registrationRateLimit = form.registrationRateLimit?.trim() ? field('registrationRateLimit') : null
    // An event's own limit raises the setting for it; lowering it for one event is not what the field is for.
    const atLeastSetting = (name: 'unpaidHoldsPerClient' | 'registrationRateLimit', value: number | null | undefined, setting: number, label: string) => {
      if (typeof value === 'number' && value < setting) fail([name], `The ${label} must be at least ${setting}, the usual limit (leave it blank for the usual limit)`)
    }
    atLeastSetting('unpaidHoldsPerClient', unpaidHoldsPerClient, getEnv().UNPAID_HOLDS_PER_CLIENT, 'unpaid bookings from one connection')
    atLeastSetting('registrationRateLimit', registrationRateLimit, getEnv().REGISTRATION_RATE_LIMIT, 'registrations from one connection in ten minutes')
    const status = field('status')
    const startsAtText = field('startsAt')
    const endsAtText = field('endsAt')
    const timeZoneText = field('timeZone')

    const timeZone = timeZoneText === undefined ? null : canonicalTimeZone(timeZoneText)
    if (timeZoneText !== undefined && !timeZone) fail(['timeZone'], 'Enter a time zone from the list, like Europe/London')
    const time = (name: 'startsAt' | 'endsAt', typed: string | undefined, what: string) => {
      if (!timeZone || typed === undefined) return null
      const result = localTimeToInstant(typed, timeZone)
      if (result.ok) return result.instant
      fail(
        [name],
        result.reason === 'nonexistent'
          ? `That time does not exist in ${timeZone}: the clocks go forward then. Choose a time an hour later or earlier`
          : `Enter ${what} as a date and a time, like 2027-06-14 18:30`,
      )
      return null
    }
    const startsAt = time('startsAt', startsAtText, 'when the event starts')
    const endsAt = time('endsAt', endsAtText, 'when the event ends')
    if (startsAt && endsAt && endsAt <= startsAt) fail(['endsAt'], 'The event must end after it starts')

    if (mode === 'in_person') {
      if (!form.venueName?.trim()) fail(['venueName'], 'Enter the venue’s name')
      if (!form.venueAddress?.trim()) fail(['venueAddress'], 'Enter the venue’s address')
    }
    let onlineUrl: string | null = null
    if (mode === 'online') {
      if (!form.onlineUrl?.trim()) fail(['onlineUrl'], 'Enter the link people use to join')
      else if (onlineUrlText !== undefined && !isWebLink(onlineUrlText)) fail(['onlineUrl'], 'Enter the link in full, starting with https://')
      else onlineUrl = onlineUrlText ?? null
    }

    const tickets: TicketChange[] = []
    form.tickets.forEach((row, index) => {
      if (!row) return
      const path = (name: string) => ['tickets', index, name]
      const id = check(path('id'), ticketFieldSchemas.id, row.id)
      const name = check(path('name'), ticketFieldSchemas.name, row.name)
      const kind = check(path('kind'), ticketFieldSchemas.kind, row.kind)
      const remove = row.remove === 'on' || row.remove === 'true'
      const price = row.price?.trim() ?? ''
      const minPrice = row.minPrice?.trim() ?? ''
      if (!row.id && !row.name?.trim()) {
        // A blank spare row; a price with no name is a half-filled row, not a blank one.
        if (!remove && (price || minPrice)) fail(path('name'), 'Enter a name for this ticket, or clear its prices')
        return
      }
      if (remove) {
        if (id) tickets.push({ index, id, remove: true, name: name ?? '', kind: kind ?? 'free', priceMinor: 0, minPriceMinor: 0, currency: 'GBP' })
        return
      }
      if (!name) {
        // Undefined with text typed means check() has already said what is wrong with it.
        if (!(name === undefined && row.name?.trim())) fail(path('name'), 'Enter the ticket’s name')
        return
      }
      const currency = (row.currency ?? 'GBP').trim().toUpperCase()
      if (!(SUPPORTED_CURRENCIES as readonly string[]).includes(currency)) return fail(path('currency'), 'Choose a currency from the list')
      if (!kind) return
      const amount = (name: 'price' | 'minPrice', typed: string, label: string): number | null | undefined => {
        if (!typed) return null
        const minor = parseAmountToMinor(typed, currency)
        if (minor === null) {
          fail(path(name), `Enter the ${label} ${amountHint(currency)}`)
          return undefined
        }
        // A price Stripe could not charge (KWD 2.505) would only fail at checkout, in front of a buyer.
        if (minor > 0 && !isStripeAmount(minor, currency)) {
          fail(path(name), stripeStepMessage(currency))
          return undefined
        }
        return minor
      }
      let priceMinor = 0
      let minPriceMinor = 0
      if (kind === 'paid') {
        const paid = amount('price', price, 'price')
        if (paid === undefined) return
        if (!paid) return fail(path('price'), 'Enter the price of a paid ticket (a ticket at no cost is free)')
        priceMinor = paid
      } else if (kind === 'pay_what_you_can') {
        const minimum = amount('minPrice', minPrice, 'minimum')
        const suggested = amount('price', price, 'suggested amount')
        if (minimum === undefined || suggested === undefined) return
        minPriceMinor = minimum ?? 0
        priceMinor = suggested ?? minPriceMinor
        if (priceMinor < minPriceMinor) return fail(path('price'), 'The suggested amount cannot be less than the minimum')
      }
      if (id === undefined && row.id) return
      tickets.push({ index, id: id ?? null, remove: false, name, kind, priceMinor, minPriceMinor, currency })
    })

    if (
      failed ||
      title === undefined || slug === undefined || summary === undefined || description === undefined ||
      organiserName === undefined || mode === undefined || capacity === undefined || maxPerOrder === undefined ||
      status === undefined || !timeZone || !startsAt || !endsAt || startsAtText === undefined || endsAtText === undefined
    ) {
      return z.NEVER
    }
    return {
      title,
      slug,
      summary,
      descriptionMarkdown: description,
      startsAt,
      endsAt,
      /** The local readings as typed: an unchanged reading keeps the stored instant (see updateEvent). */
      startsAtLocal: startsAtText.trim(),
      endsAtLocal: endsAtText.trim(),
      timeZone,
      mode: mode as EventMode,
      venueName: mode === 'in_person' ? (venueName ?? null) : null,
      venueAddress: mode === 'in_person' ? (venueAddress ?? null) : null,
      accessNotes: accessNotes || null,
      /** The cover's description; whether one is needed depends on the cover kept (event-admin). */
      photoAlt: photoAlt || null,
      removePhoto: form.removePhoto === 'on' || form.removePhoto === 'true',
      // The joining link is sent to registered people only; an in-person event has none to leak.
      onlineUrl,
      organiserName,
      capacity,
      maxPerOrder,
      /** Unpaid holds one connection may have open at once; null for the setting's default. */
      unpaidHoldsPerClient: unpaidHoldsPerClient ?? null,
      /** Registrations one connection may make in ten minutes; null for the setting's default. */
      registrationRateLimit: registrationRateLimit ?? null,
      status: status as Exclude<EventStatus, 'cancelled'>,
      tickets,
    }
  })
export type EventFormValue = z.output<typeof eventFormSchema>

/** The base fields, the cover's two and the buttons, and seven for each of at most 50 ticket rows. */
const EVENT_FORM_MAX_FIELDS = 30 + 50 * 7

/**
 * The event form as submitted: conform's reading of the fields, and the cover photo checked by
 * the appeal photos' code (the same limits, the same re-encoding). The form is multipart; a plain
 * form (no cover chosen, as older clients and tests post it) is read as before. `answer` is set
 * when the form goes back to the page instead of being saved: a field error, a photo refused
 * beside its field, or a button of the form ("Add a ticket") that asked for it back with a change
 * (no error, so 200). A request that is not our form at all is a 400.
 */
export async function readEventSubmission(request: Request) {
  const { formData, photo } = isMultipart(request)
    ? await readAppealForm(request, { maxFields: EVENT_FORM_MAX_FIELDS })
        .then(async (form) => ({ formData: form.formData, photo: await checkPhoto(form.photo) }))
        .catch((error: unknown) => {
          if (error instanceof UploadRefused) throw new Response('This is not the event form', { status: 400, headers: { 'Cache-Control': 'no-store' } })
          throw error
        })
    : { formData: await readFormData(request), photo: { photo: null, error: null } }
  const submission = parseWithZod(formData, { schema: eventFormSchema })
  const answer =
    submission.status !== 'success' || photo.error
      ? {
          reply: photo.error ? submission.reply({ fieldErrors: { photo: [photo.error] } }) : submission.reply(),
          status: submission.status === 'error' || photo.error ? 400 : 200,
        }
      : null
  return { submission, photo: photo.photo as PhotoUpload | null, answer }
}

function isWebLink(text: string) {
  try {
    const url = new URL(text)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname.includes('.')
  } catch {
    return false
  }
}
