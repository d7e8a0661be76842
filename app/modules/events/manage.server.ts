import { type Selectable, sql } from 'kysely'
import { z } from 'zod'
import type { EventMode, EventStatus, EventsTable, TicketKind } from '#db/schema.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { buildIcs, calendarSequence } from '#app/modules/events/ics.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { instantToLocalTime, localTimeToInstant } from '#app/utils/dates.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { minorUnitExponent, parseAmountToMinor, SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { plainText, requiredText } from '#app/utils/text-input.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'
import { offerFreedPlaces } from '#app/modules/registrations/waitlist.server.ts'

/**
 * Creating and editing events from the staff area.
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
/** Registrations that hold or wait for a place; cancelled, lapsed and refunded ones do not count. */

// ── Local time in a zone ──────────────────────────────────────────────────────────────────────

/** The zone's canonical IANA name ("europe/london" → "Europe/London"), or null when Intl does not know it. */
export function canonicalTimeZone(input: string): string | null {
  const zone = input.trim()
  // Offsets such as "+01:00" are not places: their rules never change with the seasons.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return null
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    return null
  }
}

/** Suggestions for the zone field: every zone this server's Intl knows. */
export function timeZoneChoices(): string[] {
  const zones = Intl.supportedValuesOf('timeZone')
  return zones.includes('UTC') ? zones : [...zones, 'UTC']
}

// ── Money typed in major units ───────────────────────────────────────────────────────────────

/** 1500 GBP → "15.00", 500 JPY → "500": the amount as staff typed it, without floating point. */
export function minorToMajorInput(amountMinor: number, currency: string): string {
  const exponent = minorUnitExponent(currency)
  if (exponent === 0) return String(amountMinor)
  const digits = String(amountMinor).padStart(exponent + 1, '0')
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
}

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
  onlineUrl: optionalText(SHORT_TEXT_MAX, 'The online link'),
  organiserName: boundedText('Enter the organiser’s name', SHORT_TEXT_MAX, 'The organiser’s name'),
  capacity: wholeNumber('capacity', 0, CAPACITY_MAX),
  maxPerOrder: wholeNumber('most places in one registration', 1, MAX_PER_ORDER_MAX),
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
    maxPerOrder: raw, status: raw,
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
    const onlineUrlText = field('onlineUrl')
    const capacity = field('capacity')
    const maxPerOrder = field('maxPerOrder')
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
      // The joining link is sent to registered people only; an in-person event has none to leak.
      onlineUrl,
      organiserName,
      capacity,
      maxPerOrder,
      status: status as Exclude<EventStatus, 'cancelled'>,
      tickets,
    }
  })
export type EventFormValue = z.output<typeof eventFormSchema>

function isWebLink(text: string) {
  try {
    const url = new URL(text)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname.includes('.')
  } catch {
    return false
  }
}

// ── Reading an event for the form ───────────────────────────────────────────────────────────

export type TicketFormRow = {
  id?: string
  name?: string
  kind: TicketKind
  price?: string
  minPrice?: string
  currency: string
  /** Registrations hold this ticket: it cannot be removed nor repriced. */
  locked?: boolean
}

export function blankTicketRows(currency = 'GBP'): TicketFormRow[] {
  return Array.from({ length: BLANK_TICKET_ROWS }, () => ({ kind: 'free' as const, currency }))
}

export async function getEventForEditing(db: Database, eventId: string) {
  const event = await db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirst()
  if (!event) return null
  const tickets = await ticketsWithRegistrations(db, eventId)
  const ticketRows: TicketFormRow[] = tickets.map((ticket) => ({
    id: ticket.id,
    name: ticket.name,
    kind: ticket.kind,
    price: ticket.kind === 'free' ? '' : minorToMajorInput(ticket.price_minor, ticket.currency),
    minPrice: ticket.kind === 'pay_what_you_can' ? minorToMajorInput(ticket.min_price_minor, ticket.currency) : '',
    currency: ticket.currency,
    locked: ticket.registrations > 0,
  }))
  return {
    id: event.id,
    status: event.status,
    placesTaken: event.places_taken,
    liveRegistrations: await countLiveRegistrations(db, eventId),
    defaultValue: {
      title: event.title,
      slug: event.slug,
      summary: event.summary,
      description: event.description_markdown,
      startsAt: instantToLocalTime(event.starts_at, event.time_zone),
      endsAt: instantToLocalTime(event.ends_at, event.time_zone),
      timeZone: event.time_zone,
      mode: event.mode,
      venueName: event.venue_name ?? '',
      venueAddress: event.venue_address ?? '',
      accessNotes: event.access_notes ?? '',
      onlineUrl: event.online_url ?? '',
      organiserName: event.organiser_name,
      capacity: String(event.capacity),
      maxPerOrder: String(event.max_per_order),
      status: event.status === 'published' ? 'published' : 'draft',
      tickets: [...ticketRows, ...blankTicketRows(ticketRows[0]?.currency ?? 'GBP')],
    },
  }
}

async function ticketsWithRegistrations(db: Database | DatabaseTransaction, eventId: string) {
  const rows = await db
    .selectFrom('ticket_types as t')
    .select(['t.id', 't.name', 't.kind', 't.price_minor', 't.min_price_minor', 't.currency'])
    .select((eb) =>
      eb.selectFrom('registrations as r').select(sql<number>`count(*)::int`.as('n')).whereRef('r.ticket_type_id', '=', 't.id').as('registrations'),
    )
    .where('t.event_id', '=', eventId)
    .orderBy('t.position')
    .orderBy('t.created_at')
    .orderBy('t.id')
    .execute()
  // char(3) may come back padded from some drivers.
  return rows.map((row) => ({ ...row, currency: row.currency.trim().toUpperCase(), registrations: Number(row.registrations ?? 0) }))
}

async function countLiveRegistrations(db: Database | DatabaseTransaction, eventId: string) {
  const row = await db
    .selectFrom('registrations')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('event_id', '=', eventId)
    .where('status', 'in', LIVE_REGISTRATION_STATUSES)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

// ── Saving ───────────────────────────────────────────────────────────────────────────────────

export type FieldErrors = Record<string, string[]>
export type SaveEventResult =
  | { ok: true; eventId: string }
  | { ok: false; notFound?: true; fieldErrors: FieldErrors; formErrors: string[] }

class Refused extends Error {
  constructor(
    readonly fieldErrors: FieldErrors,
    readonly formErrors: string[] = [],
  ) {
    super('refused')
  }
}

const SLUG_TAKEN = 'Another event already uses this slug. Choose a different one'

function isSlugClash(error: unknown) {
  const pgError = error as { code?: string; constraint?: string; message?: string }
  return pgError?.code === '23505' && `${pgError.constraint ?? ''} ${pgError.message ?? ''}`.includes('slug')
}

async function slugTaken(trx: DatabaseTransaction, slug: string, exceptId: string | null) {
  let query = trx.selectFrom('events').select('id').where('slug', '=', slug)
  if (exceptId) query = query.where('id', '!=', exceptId)
  return (await query.executeTakeFirst()) !== undefined
}

async function audit(trx: DatabaseTransaction, staffUserId: string, action: string, eventId: string, details: Record<string, unknown>) {
  await trx
    .insertInto('audit_log')
    .values({ staff_user_id: staffUserId, action, subject_type: 'event', subject_id: eventId, details: JSON.stringify(details) })
    .execute()
}

/** Runs `work` in a transaction; a refusal rolls it back and comes back as field errors. */
async function saving(db: Database, work: (trx: DatabaseTransaction) => Promise<string>): Promise<SaveEventResult> {
  try {
    const eventId = await db.transaction().execute(work)
    return { ok: true, eventId }
  } catch (error) {
    if (error instanceof Refused) return { ok: false, fieldErrors: error.fieldErrors, formErrors: error.formErrors }
    // Two people choosing the same slug at once: the unique index decides.
    if (isSlugClash(error)) return { ok: false, fieldErrors: { slug: [SLUG_TAKEN] }, formErrors: [] }
    throw error
  }
}

function publishableTicketCheck(value: EventFormValue, remaining: number, errors: FieldErrors) {
  if (value.status === 'published' && remaining === 0) errors.status = ['Add at least one ticket type before publishing']
}

export async function createEvent(db: Database, staffUserId: string, value: EventFormValue): Promise<SaveEventResult> {
  return saving(db, async (trx) => {
    const errors: FieldErrors = {}
    if (await slugTaken(trx, value.slug, null)) errors.slug = [SLUG_TAKEN]
    const newTickets = value.tickets.filter((ticket) => !ticket.remove && ticket.id === null)
    if (value.tickets.some((ticket) => ticket.id !== null)) throw new Refused({}, ['A new event has no tickets yet: reload the page and try again'])
    publishableTicketCheck(value, newTickets.length, errors)
    if (Object.keys(errors).length > 0) throw new Refused(errors)
    const published = value.status === 'published'
    const event = await trx
      .insertInto('events')
      .values({
        ...eventColumns(value),
        status: value.status,
        published_at: published ? sql<Date>`now()` : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    for (const ticket of newTickets) await insertTicket(trx, event.id, ticket)
    await audit(trx, staffUserId, 'event.create', event.id, { slug: value.slug, status: value.status, capacity: value.capacity, tickets: newTickets.length })
    if (published) await audit(trx, staffUserId, 'event.publish', event.id, { from: 'draft', to: 'published' })
    return event.id
  })
}

function eventColumns(value: EventFormValue) {
  return {
    title: value.title,
    slug: value.slug,
    summary: value.summary,
    description_markdown: value.descriptionMarkdown,
    starts_at: value.startsAt,
    ends_at: value.endsAt,
    time_zone: value.timeZone,
    mode: value.mode,
    venue_name: value.venueName,
    venue_address: value.venueAddress,
    access_notes: value.accessNotes,
    online_url: value.onlineUrl,
    organiser_name: value.organiserName,
    capacity: value.capacity,
    max_per_order: value.maxPerOrder,
  }
}

async function insertTicket(trx: DatabaseTransaction, eventId: string, ticket: TicketChange) {
  await trx
    .insertInto('ticket_types')
    .values({
      event_id: eventId,
      name: ticket.name,
      kind: ticket.kind,
      price_minor: ticket.priceMinor,
      min_price_minor: ticket.minPriceMinor,
      currency: ticket.currency,
      position: ticket.index,
    })
    .execute()
}

/**
 * Saves an edit. The event row is locked first, so places cannot be taken between the capacity
 * check and the update, and freed places are offered to the waitlist in the same transaction.
 * Every check runs before anything is written; a refusal writes nothing.
 */
export async function updateEvent(db: Database, staffUserId: string, eventId: string, value: EventFormValue): Promise<SaveEventResult> {
  const result = await saving(db, async (trx) => {
    const event = await trx.selectFrom('events').selectAll().where('id', '=', eventId).forUpdate().executeTakeFirst()
    if (!event) throw new NotFound()
    if (event.status === 'cancelled') throw new Refused({}, ['This event has been cancelled and can no longer be edited'])

    const errors: FieldErrors = {}
    const add = (field: string, message: string) => (errors[field] ??= []).push(message)
    if (await slugTaken(trx, value.slug, eventId)) add('slug', SLUG_TAKEN)
    if (value.capacity < event.places_taken) {
      add('capacity', `${event.places_taken} places are already taken (confirmed, offered or being paid for), so the capacity cannot be less than ${event.places_taken}`)
    }
    if (event.status === 'published' && value.status === 'draft' && (await countLiveRegistrations(trx, eventId)) > 0) {
      add('status', 'People have registered for this event, so it cannot go back to draft. Cancel it instead')
    }

    const existing = new Map((await ticketsWithRegistrations(trx, eventId)).map((ticket) => [ticket.id, ticket]))
    const seen = new Set<string>()
    for (const ticket of value.tickets) {
      if (ticket.id === null) continue
      const current = existing.get(ticket.id)
      if (!current || seen.has(ticket.id)) throw new Refused({}, ['The tickets changed while you were editing: reload the page and try again'])
      seen.add(ticket.id)
      if (current.registrations === 0) continue
      if (ticket.remove) {
        add(`tickets[${ticket.index}].remove`, 'People have registered with this ticket, so it cannot be removed')
      } else if (
        ticket.kind !== current.kind ||
        ticket.priceMinor !== current.price_minor ||
        ticket.minPriceMinor !== current.min_price_minor ||
        ticket.currency !== current.currency
      ) {
        add(`tickets[${ticket.index}].price`, 'People have registered with this ticket, so its kind, price and currency cannot change')
      }
    }
    const removed = value.tickets.filter((ticket) => ticket.remove && ticket.id !== null)
    const remaining = existing.size - removed.length + value.tickets.filter((ticket) => !ticket.remove && ticket.id === null).length
    publishableTicketCheck(value, remaining, errors)
    if (Object.keys(errors).length > 0) throw new Refused(errors)

    // A reading left as it was keeps its instant, so an event stored at the second 01:30 of an
    // autumn night is not moved to the first one by an unrelated edit.
    const keepTime = (local: string, stored: Date) =>
      value.timeZone === event.time_zone && local === instantToLocalTime(stored, event.time_zone) ? stored : null
    const startsAt = keepTime(value.startsAtLocal, event.starts_at) ?? value.startsAt
    const endsAt = keepTime(value.endsAtLocal, event.ends_at) ?? value.endsAt
    if (endsAt <= startsAt) throw new Refused({ endsAt: ['The event must end after it starts'] })

    const publishing = event.status !== value.status
    const columns = { ...eventColumns(value), starts_at: startsAt, ends_at: endsAt }
    const saved = await trx
      .updateTable('events')
      .set({
        ...columns,
        status: value.status,
        ...(publishing ? { published_at: value.status === 'published' ? sql<Date>`now()` : null } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', eventId)
      .returningAll()
      .executeTakeFirstOrThrow()

    for (const ticket of value.tickets) {
      if (ticket.id === null) {
        if (!ticket.remove) await insertTicket(trx, eventId, ticket)
      } else if (ticket.remove) {
        await trx.deleteFrom('ticket_types').where('id', '=', ticket.id).where('event_id', '=', eventId).execute()
      } else {
        await trx
          .updateTable('ticket_types')
          .set({ name: ticket.name, kind: ticket.kind, price_minor: ticket.priceMinor, min_price_minor: ticket.minPriceMinor, currency: ticket.currency, position: ticket.index })
          .where('id', '=', ticket.id)
          .where('event_id', '=', eventId)
          .execute()
      }
    }

    const changed = changedFields(event, columns)
    const ticketsChanged = value.tickets.some((ticket) => {
      const current = ticket.id === null ? undefined : existing.get(ticket.id)
      if (!current) return true
      return ticket.remove || ticket.name !== current.name || ticket.kind !== current.kind || ticket.priceMinor !== current.price_minor ||
        ticket.minPriceMinor !== current.min_price_minor || ticket.currency !== current.currency
    })
    if (ticketsChanged) changed.push('tickets')
    // Told before freed places are offered, so each email describes the place as it stood.
    const changes = event.status === 'published' && saved.status === 'published' ? changesWorthTelling(event, saved) : []
    const told = changes.length > 0 ? await tellRegistrantsOfChange(trx, event, saved, changes) : 0
    await audit(trx, staffUserId, 'event.edit', eventId, { changed: changed.join(', ') || 'nothing', ...(told > 0 ? { told } : {}) })
    if (publishing) await audit(trx, staffUserId, 'event.publish', eventId, { from: event.status, to: value.status })
    if (value.capacity !== event.capacity) {
      let offered = 0
      if (value.capacity > event.capacity) {
        const before = await countOffered(trx, eventId)
        await offerFreedPlaces(trx, eventId)
        offered = (await countOffered(trx, eventId)) - before
      }
      await audit(trx, staffUserId, 'event.capacity', eventId, { from: event.capacity, to: value.capacity, offered })
    }
    return eventId
  }).catch((error: unknown) => {
    if (error instanceof NotFound) return { ok: false as const, notFound: true as const, fieldErrors: {}, formErrors: [] }
    throw error
  })
  return result
}

class NotFound extends Error {}

type EventRow = Selectable<EventsTable>
type EventChange = 'time' | 'place' | 'online-link'

/** What registered people need to hear about; a new title, description, capacity or ticket is not. */
function changesWorthTelling(before: EventRow, after: EventRow): EventChange[] {
  const changes: EventChange[] = []
  if (
    before.starts_at.getTime() !== after.starts_at.getTime() ||
    before.ends_at.getTime() !== after.ends_at.getTime() ||
    before.time_zone !== after.time_zone
  ) {
    changes.push('time')
  }
  if (before.mode !== after.mode || before.venue_name !== after.venue_name || before.venue_address !== after.venue_address) changes.push('place')
  if (before.online_url !== after.online_url) changes.push('online-link')
  return changes
}

/**
 * One "the details have changed" email to each live registration, in the edit's transaction.
 * The key carries the version (updated_at) the edit wrote: a retried request finds nothing changed
 * and sends nothing, while a later change is a new version and is told again. Confirmed places get
 * the joining link and an updated calendar file: the confirmation's UID with a SEQUENCE taken from
 * the same instant, so it only grows. One enqueueEmail per person keeps this simple; it stays
 * quick enough inside one transaction up to a few thousand registrations, past which a batched
 * insert (or a job that fans out) would be the next step.
 */
async function tellRegistrantsOfChange(trx: DatabaseTransaction, before: EventRow, after: EventRow, changes: EventChange[]): Promise<number> {
  const people = await trx
    .selectFrom('registrations')
    .select(['id', 'name', 'email', 'status'])
    .where('event_id', '=', after.id)
    .where('status', 'in', LIVE_REGISTRATION_STATUSES)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  // Only the joining link changed: nothing to say to people who are not sent the link.
  const linkOnly = changes.every((change) => change === 'online-link')
  const organisation = await getEmailOrganisation(trx)
  const eventUrl = `${appUrl()}/events/${after.slug}`
  const version = after.updated_at.getTime()
  const sequence = calendarSequence(after.updated_at)
  const location = after.online_url ? `Online: ${after.online_url}` : [after.venue_name, after.venue_address].filter(Boolean).join(', ')
  let told = 0
  for (const person of people) {
    const status = person.status as (typeof LIVE_REGISTRATION_STATUSES)[number]
    const confirmed = status === 'confirmed'
    if (linkOnly && !confirmed) continue
    const cancelUrl = manageRegistrationUrl(person.id)
    // The same entry sendConfirmation (registrations/register.server.ts) attached, so calendars replace it.
    const calendar = confirmed
      ? buildIcs({
          uid: `registration-${person.id}@sanad`,
          title: after.title,
          description: `${after.summary}\n\nManage your place: ${cancelUrl}`,
          startsAt: after.starts_at,
          endsAt: after.ends_at,
          timeZone: after.time_zone,
          location,
          url: eventUrl,
          organiserName: after.organiser_name,
          sequence,
          now: after.updated_at,
        })
      : null
    await enqueueEmail(trx, {
      template: 'event-changed',
      to: person.email,
      props: {
        organisation,
        name: person.name,
        eventTitle: after.title,
        eventUrl,
        status,
        changes,
        previousStartsAt: before.starts_at.toISOString(),
        previousEndsAt: before.ends_at.toISOString(),
        previousTimeZone: before.time_zone,
        startsAt: after.starts_at.toISOString(),
        endsAt: after.ends_at.toISOString(),
        timeZone: after.time_zone,
        mode: after.mode,
        venueName: after.mode === 'in_person' ? after.venue_name : null,
        venueAddress: after.mode === 'in_person' ? after.venue_address : null,
        // The joining link goes only to people with a place.
        onlineUrl: confirmed ? after.online_url : null,
        cancelUrl,
        hasCalendarAttachment: calendar !== null,
      },
      idempotencyKey: `event-changed:${person.id}:${version}`,
      attachments: calendar
        ? [{ filename: `${after.slug}.ics`, contentType: 'text/calendar; charset=utf-8', contentBase64: Buffer.from(calendar).toString('base64') }]
        : [],
    })
    told += 1
  }
  return told
}

async function countOffered(trx: DatabaseTransaction, eventId: string) {
  const row = await trx
    .selectFrom('registrations')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('event_id', '=', eventId)
    .where('status', '=', 'offered')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return Object.entries(after)
    .filter(([key, value]) => {
      const old = before[key]
      if (old instanceof Date && value instanceof Date) return old.getTime() !== value.getTime()
      return old !== value
    })
    .map(([key]) => key)
}
