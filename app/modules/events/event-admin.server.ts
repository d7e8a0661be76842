import { type Selectable, sql } from 'kysely'
import type { EventsTable, TicketKind } from '#db/schema.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { buildIcs, calendarSequence } from '#app/modules/events/ics.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { instantToLocalTime } from '#app/utils/dates.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { minorToDecimal } from '#app/utils/money.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'
import { offerFreedPlaces } from '#app/modules/registrations/waitlist.server.ts'
import { BLANK_TICKET_ROWS, type EventFormValue, type TicketChange } from '#app/modules/events/event-form.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import type { PhotoUpload } from '#app/modules/appeals/photos/upload.server.ts'
import { deletePhotoIfUnused, storePhoto } from '#app/modules/appeals/photos/storage.server.ts'

/** Staff create and edit events here; every change writes an audit entry in its transaction. */

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
    price: ticket.kind === 'free' ? '' : minorToDecimal(ticket.price_minor, ticket.currency),
    minPrice: ticket.kind === 'pay_what_you_can' ? minorToDecimal(ticket.min_price_minor, ticket.currency) : '',
    currency: ticket.currency,
    locked: ticket.registrations > 0,
  }))
  return {
    id: event.id,
    status: event.status,
    placesTaken: event.places_taken,
    cover: event.cover_photo_path ? { path: event.cover_photo_path, alt: event.cover_photo_alt ?? '' } : null,
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
      photoAlt: event.cover_photo_alt ?? '',
      onlineUrl: event.online_url ?? '',
      organiserName: event.organiser_name,
      capacity: String(event.capacity),
      maxPerOrder: String(event.max_per_order),
      unpaidHoldsPerClient: event.unpaid_holds_per_client === null ? '' : String(event.unpaid_holds_per_client),
      registrationRateLimit: event.registration_rate_limit === null ? '' : String(event.registration_rate_limit),
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

async function slugTaken(trx: DatabaseTransaction, slug: string, exceptId: string | null) {
  let query = trx.selectFrom('events').select('id').where('slug', '=', slug)
  if (exceptId) query = query.where('id', '!=', exceptId)
  return (await query.executeTakeFirst()) !== undefined
}

/** Runs `work` in a transaction; a refusal rolls it back and comes back as field errors. */
async function saving(db: Database, work: (trx: DatabaseTransaction) => Promise<string>): Promise<SaveEventResult> {
  try {
    const eventId = await db.transaction().execute(work)
    return { ok: true, eventId }
  } catch (error) {
    if (error instanceof Refused) return { ok: false, fieldErrors: error.fieldErrors, formErrors: error.formErrors }
    // Two people choosing the same slug at once: the unique index decides.
    if (isUniqueViolation(error, 'slug')) return { ok: false, fieldErrors: { slug: [SLUG_TAKEN] }, formErrors: [] }
    throw error
  }
}

function publishableTicketCheck(value: EventFormValue, remaining: number, errors: FieldErrors) {
  if (value.status === 'published' && remaining === 0) errors.status = ['Add at least one ticket type before publishing']
}

const COVER_ALT_NEEDED = 'Describe the cover photo for people who cannot see it'

/** The cover a save leaves the event with: a new upload, the one it had (unless removed), or none. */
async function coverAfterSave(
  trx: DatabaseTransaction,
  value: EventFormValue,
  upload: PhotoUpload | null,
  current: { id: string | null; path: string | null },
) {
  if (upload) return storePhoto(trx, upload)
  if (current.path && !value.removePhoto) return current
  return { id: null, path: null }
}

export async function createEvent(
  db: Database,
  staffUserId: string,
  value: EventFormValue,
  options: { photo?: PhotoUpload | null } = {},
): Promise<SaveEventResult> {
  return saving(db, async (trx) => {
    const errors: FieldErrors = {}
    if (await slugTaken(trx, value.slug, null)) errors.slug = [SLUG_TAKEN]
    if (options.photo && !value.photoAlt) errors.photoAlt = [COVER_ALT_NEEDED]
    const newTickets = value.tickets.filter((ticket) => !ticket.remove && ticket.id === null)
    if (value.tickets.some((ticket) => ticket.id !== null)) throw new Refused({}, ['A new event has no tickets yet: reload the page and try again'])
    publishableTicketCheck(value, newTickets.length, errors)
    if (Object.keys(errors).length > 0) throw new Refused(errors)
    const published = value.status === 'published'
    // Written in the event's transaction: a refused or failed save leaves no photo behind.
    const cover = await coverAfterSave(trx, value, options.photo ?? null, { id: null, path: null })
    const event = await trx
      .insertInto('events')
      .values({
        ...eventColumns(value),
        cover_photo_id: cover.id,
        cover_photo_path: cover.path,
        cover_photo_alt: cover.path ? value.photoAlt : null,
        status: value.status,
        published_at: published ? sql<Date>`now()` : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    for (const ticket of newTickets) await insertTicket(trx, event.id, ticket)
    await recordAudit(trx, { staffUserId, action: 'event.create', subjectType: 'event', subjectId: event.id, details: { slug: value.slug, status: value.status, capacity: value.capacity, tickets: newTickets.length } })
    if (published) await recordAudit(trx, { staffUserId, action: 'event.publish', subjectType: 'event', subjectId: event.id, details: { from: 'draft', to: 'published' } })
    await auditLimits(trx, staffUserId, event.id, { unpaid_holds_per_client: null, registration_rate_limit: null }, value)
    return event.id
  })
}

/**
 * A raised limit lets one connection do more (card testing hides behind "a room on one Wi-Fi"), so
 * who raised which limit for an event, from what to what, has an audit entry of its own; blank is
 * the setting.
 */
async function auditLimits(
  trx: DatabaseTransaction,
  staffUserId: string,
  eventId: string,
  before: Pick<EventRow, 'unpaid_holds_per_client' | 'registration_rate_limit'>,
  value: EventFormValue,
) {
  const shown = (limit: number | null) => (limit === null ? 'the setting' : limit)
  const details: Record<string, string | number> = {}
  if (before.unpaid_holds_per_client !== value.unpaidHoldsPerClient) {
    details['unpaid bookings at once'] = `${shown(before.unpaid_holds_per_client)} → ${shown(value.unpaidHoldsPerClient)}`
  }
  if (before.registration_rate_limit !== value.registrationRateLimit) {
    details['registrations in ten minutes'] = `${shown(before.registration_rate_limit)} → ${shown(value.registrationRateLimit)}`
  }
  if (Object.keys(details).length === 0) return
  await recordAudit(trx, { staffUserId, action: 'event.limits', subjectType: 'event', subjectId: eventId, details })
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
    unpaid_holds_per_client: value.unpaidHoldsPerClient,
    registration_rate_limit: value.registrationRateLimit,
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
export async function updateEvent(
  db: Database,
  staffUserId: string,
  eventId: string,
  value: EventFormValue,
  options: { photo?: PhotoUpload | null } = {},
): Promise<SaveEventResult> {
  const result = await saving(db, async (trx) => {
    const event = await trx.selectFrom('events').selectAll().where('id', '=', eventId).forUpdate().executeTakeFirst()
    if (!event) throw new NotFound()
    if (event.status === 'cancelled') throw new Refused({}, ['This event has been cancelled and can no longer be edited'])

    const errors: FieldErrors = {}
    const add = (field: string, message: string) => (errors[field] ??= []).push(message)
    if (await slugTaken(trx, value.slug, eventId)) add('slug', SLUG_TAKEN)
    const keepsCover = Boolean(options.photo) || (event.cover_photo_path !== null && !value.removePhoto)
    if (keepsCover && !value.photoAlt) add('photoAlt', COVER_ALT_NEEDED)
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
    const cover = await coverAfterSave(trx, value, options.photo ?? null, { id: event.cover_photo_id, path: event.cover_photo_path })
    const columns = {
      ...eventColumns(value),
      starts_at: startsAt,
      ends_at: endsAt,
      cover_photo_id: cover.id,
      cover_photo_path: cover.path,
      cover_photo_alt: cover.path ? value.photoAlt : null,
    }
    // The same instant as updated_at (now() is the transaction's), so the public calendar file's
    // SEQUENCE matches the one the change emails compute from updated_at.
    const calendarChanged = changesWorthTelling(event, { ...event, ...columns }).length > 0
    const saved = await trx
      .updateTable('events')
      .set({
        ...columns,
        status: value.status,
        ...(publishing ? { published_at: value.status === 'published' ? sql<Date>`now()` : null } : {}),
        ...(calendarChanged ? { calendar_changed_at: sql<Date>`now()` } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', eventId)
      .returningAll()
      .executeTakeFirstOrThrow()

    // A replaced or removed cover is gone when this commits, as an appeal's photo is.
    if (event.cover_photo_id !== cover.id) await deletePhotoIfUnused(trx, event.cover_photo_id)

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
    await recordAudit(trx, { staffUserId, action: 'event.edit', subjectType: 'event', subjectId: eventId, details: { changed: changed.join(', ') || 'nothing', ...(told > 0 ? { told } : {}) } })
    if (publishing) await recordAudit(trx, { staffUserId, action: 'event.publish', subjectType: 'event', subjectId: eventId, details: { from: event.status, to: value.status } })
    await auditLimits(trx, staffUserId, eventId, event, value)
    if (value.capacity !== event.capacity) {
      let offered = 0
      if (value.capacity > event.capacity) {
        const before = await countOffered(trx, eventId)
        await offerFreedPlaces(trx, eventId)
        offered = (await countOffered(trx, eventId)) - before
      }
      await recordAudit(trx, { staffUserId, action: 'event.capacity', subjectType: 'event', subjectId: eventId, details: { from: event.capacity, to: value.capacity, offered } })
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
type EventDetail = 'starts_at' | 'ends_at' | 'time_zone' | 'mode' | 'venue_name' | 'venue_address' | 'online_url'

/** What registered people need to hear about; a new title, description, capacity or ticket is not. */
function changesWorthTelling(before: EventRow, after: Pick<EventRow, EventDetail>): EventChange[] {
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
    // The same entry sendConfirmation (registrations/registration-emails.server.ts) attached, so calendars replace it.
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
