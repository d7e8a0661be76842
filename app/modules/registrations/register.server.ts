import { type Selectable } from 'kysely'
import type { EventsTable } from '#db/schema.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { checkRaisedRateLimit, checkRateLimit } from '#app/utils/rate-limit.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { addJob } from '#app/modules/jobs/jobs.server.ts'
import type { RegistrationOutcome, RegistrationRequest } from './registration-request.ts'
import { upsertSupporter } from '#app/modules/supporters/supporters.server.ts'
import { newCheckinToken } from '#app/modules/registrations/check-in.server.ts'
import { checkHoldLimits, holdClientKey } from '#app/modules/registrations/hold-limits.server.ts'
import { type Hold, holdDeadline, RELEASE_HOLD_TASK } from '#app/modules/registrations/holds.server.ts'
import { takePlaces } from '#app/modules/registrations/places.server.ts'
import { sendConfirmation, sendRegistrationExists, sendWaitlisted } from '#app/modules/registrations/registration-emails.server.ts'
import { mayEmailUnconfirmed } from '#app/modules/email/unconfirmed-limit.server.ts'
import { type LiveRegistrationStatus, LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'
import { startTicketCheckout } from '#app/modules/registrations/ticket-checkout.server.ts'
import { scheduleWaitlistConfirmation, waitlistPosition } from '#app/modules/registrations/waitlist.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'

type Trx = DatabaseTransaction

/**
 * Registers someone for an event. Capacity is enforced by one conditional UPDATE of the event's
 * `places_taken` inside the registration's transaction (and by a CHECK constraint beneath it), so
 * under any concurrency an event never holds more than its capacity; whoever does not get a place
 * joins the waitlist, first come first served. A paid place is held, not confirmed, and the answer
 * is the Checkout Session that pays for it (paid-tickets.server.ts).
 */
export async function registerForEvent(
  db: Database,
  request: RegistrationRequest,
  context: { origin: string; clientIp: string },
): Promise<RegistrationOutcome> {
  const event = await db.selectFrom('events').selectAll().where('id', '=', request.eventId).executeTakeFirst()
  if (!event || event.status === 'draft') return { kind: 'closed', reason: 'not-found' }
  if (event.status === 'cancelled') return { kind: 'closed', reason: 'cancelled' }
  if (event.starts_at <= new Date()) return { kind: 'closed', reason: 'past' }
  const ticket = await db
    .selectFrom('ticket_types')
    .selectAll()
    .where('id', '=', request.ticketTypeId)
    .where('event_id', '=', event.id)
    .executeTakeFirst()
  if (!ticket) return { kind: 'invalid', field: 'ticketTypeId', message: 'Choose one of the tickets for this event' }
  if (!Number.isInteger(request.quantity) || request.quantity < 1 || request.quantity > event.max_per_order) {
    return { kind: 'invalid', field: 'quantity', message: `You can book up to ${event.max_per_order} places at once` }
  }
  const pricePerPlace = ticket.kind === 'free' ? 0 : ticket.kind === 'paid' ? ticket.price_minor : (request.chosenPriceMinor ?? 0)
  if (ticket.kind === 'pay_what_you_can' && pricePerPlace < ticket.min_price_minor) {
    return { kind: 'invalid', field: 'chosenPriceMinor', message: 'Choose at least the minimum for this ticket' }
  }
  // An event whose staff raised its limit (a dinner booking over one Wi-Fi) counts its own registrations.
  const limit =
    event.registration_rate_limit === null
      ? await checkRateLimit('registration', context.clientIp)
      : await checkRaisedRateLimit('event-registration', `${event.id} ${context.clientIp}`, event.registration_rate_limit)
  if (!limit.allowed) return { kind: 'rate-limited', retryAfterSeconds: limit.retryAfterSeconds }

  let step: RegistrationOutcome | Hold
  try {
    step = await db.transaction().execute((trx) => registerInTransaction(trx, request, event, ticket, pricePerPlace, holdClientKey(context.clientIp)))
  } catch (error) {
    // The same person (or the same submission) registering twice at once: the first one stands.
    if (!isUniqueViolation(error)) throw error
    step = await db.transaction().execute(async (trx) => {
      const existing = await findExisting(trx, request)
      if (!existing) throw error
      return alreadyRegistered(trx, existing, request)
    })
  }
  // Stripe is called after the commit: no transaction (nor the event's row) waits on the network.
  if (step.kind === 'hold') return startTicketCheckout(db, step, { origin: context.origin, eventTitle: event.title, ticketName: ticket.name })
  return step
}

/**
 * A second registration for one person. The same form (same submission id) may go back to paying
 * for the place it holds. Anyone else who typed a registered address is answered exactly as a new
 * registrant is (docs/decisions/021): the page says "check your email", and the email to the
 * address says it already has a place, with its link, at most once a day per registration and
 * within the address's daily limit.
 */
async function alreadyRegistered(trx: Trx, existing: ExistingRegistration, request: RegistrationRequest): Promise<RegistrationOutcome | Hold> {
  if (existing.submission_id === request.submissionId) {
    if (existing.status === 'held' && existing.hold_expires_at) {
      return {
        kind: 'hold',
        registrationId: existing.id,
        eventId: existing.event_id,
        amountMinor: existing.amount_minor,
        currency: existing.currency,
        quantity: existing.quantity,
        email: existing.email,
        holdExpiresAt: existing.hold_expires_at,
      }
    }
    return { kind: 'already-registered', registrationId: existing.id, status: existing.status, manageUrl: manageRegistrationUrl(existing.id) }
  }
  const day = new Date().toISOString().slice(0, 10)
  if (await mayEmailUnconfirmed(trx, existing.email, 'registration-exists')) await sendRegistrationExists(trx, existing.id, existing.status, day)
  return { kind: 'already-registered', registrationId: existing.id, status: existing.status, manageUrl: null }
}

type ExistingRegistration = {
  id: string
  event_id: string
  status: LiveRegistrationStatus
  submission_id: string | null
  amount_minor: number
  currency: string
  quantity: number
  email: string
  hold_expires_at: Date | null
}

async function findExisting(db: Database | Trx, request: RegistrationRequest) {
  return db
    .selectFrom('registrations')
    .select(['id', 'event_id', 'status', 'submission_id', 'amount_minor', 'currency', 'quantity', 'email', 'hold_expires_at'])
    .where('event_id', '=', request.eventId)
    .where((eb) =>
      eb.or([
        eb('submission_id', '=', request.submissionId),
        eb.and([eb(eb.fn('lower', ['email']), '=', request.email.toLowerCase()), eb('status', 'in', LIVE_REGISTRATION_STATUSES), eb('is_group_booking', '=', false)]),
      ]),
    )
    .orderBy('created_at')
    .executeTakeFirst() as Promise<ExistingRegistration | undefined>
}

type EventRow = Selectable<EventsTable>
type TicketRow = { id: string; name: string; currency: string; kind: string; price_minor: number; min_price_minor: number }

/**
 * Takes the places and writes the registration. A free place is confirmed here; a paid one is
 * held (its places taken) until Checkout says it is paid or the hold ends. Whoever does not fit
 * waits, paying nothing.
 */
async function registerInTransaction(
  trx: Trx,
  request: RegistrationRequest,
  event: EventRow,
  ticket: TicketRow,
  pricePerPlace: number,
  clientKey: string,
): Promise<RegistrationOutcome | Hold> {
  // Staff change tickets only while holding the event's row FOR UPDATE, which this KEY SHARE lock
  // waits for (and which waits for it): the ticket read here is the one this registration gets, so
  // a ticket cannot be removed or repriced between our first read and our insert.
  const locked = await trx
    .selectFrom('events as e')
    .leftJoin('ticket_types as t', (join) => join.onRef('t.event_id', '=', 'e.id').on('t.id', '=', ticket.id))
    .select(['t.id', 't.kind', 't.price_minor', 't.min_price_minor'])
    .where('e.id', '=', event.id)
    .forKeyShare('e')
    .executeTakeFirst()
  if (!locked?.id || locked.kind !== ticket.kind || locked.price_minor !== ticket.price_minor || locked.min_price_minor !== ticket.min_price_minor) {
    return { kind: 'invalid', field: 'ticketTypeId', message: 'This ticket changed a moment ago: check it and register again' }
  }
  const existing = await findExisting(trx, request)
  if (existing) return alreadyRegistered(trx, existing, request)
  const paid = pricePerPlace > 0
  if (paid) {
    // Unpaid holds cannot hoard places: a limit per address and per connection (ADR 023).
    const limit = await checkHoldLimits(trx, { eventId: event.id, email: request.email, clientKey, quantity: request.quantity })
    if (limit.outcome === 'refused') {
      // The hold counted may be this very form's, committed by a double submit while we waited for the lock.
      const mine = await findExisting(trx, request)
      if (mine) return alreadyRegistered(trx, mine, request)
      return { kind: 'too-many-holds', reason: limit.reason, limit: limit.limit, retryAfterSeconds: limit.retryAfterSeconds }
    }
  }
  const supporterId = await upsertSupporter(trx, { email: request.email, name: request.name })
  // Asked before the places are taken: everyone registering for this event waits on its row from
  // then until their commit, so nothing that can be done earlier is done after. A paid place
  // sends nothing until it is paid; only a paid request that ends up waiting asks, below.
  const freeMayEmail = pricePerPlace > 0 ? null : await mayEmailUnconfirmed(trx, request.email, 'registration')

  const place = await takePlaces(trx, event.id, request.quantity)
  const now = new Date()
  const holdExpiresAt = place && paid ? holdDeadline(now) : null
  const status = !place ? 'waitlisted' : paid ? 'held' : 'confirmed'
  const registration = await trx
    .insertInto('registrations')
    .values({
      event_id: event.id,
      ticket_type_id: ticket.id,
      supporter_id: supporterId,
      name: request.name,
      email: request.email,
      quantity: request.quantity,
      // A waiting person keeps the price they chose, so a place offered later costs what they agreed.
      amount_minor: paid ? pricePerPlace * request.quantity : 0,
      currency: ticket.currency,
      status,
      access_needs: request.accessNeeds,
      privacy_consent_at: now,
      hold_expires_at: holdExpiresAt,
      client_key: holdExpiresAt ? clientKey : null,
      waitlisted_at: place ? null : now,
      confirmed_at: status === 'confirmed' ? now : null,
      checkin_token: status === 'confirmed' ? newCheckinToken() : null,
      submission_id: request.submissionId,
    })
    .returning(['id', 'status', 'amount_minor'])
    .executeTakeFirstOrThrow()

  const manageUrl = manageRegistrationUrl(registration.id)
  if (holdExpiresAt) {
    await addJob(trx, RELEASE_HOLD_TASK, { registrationId: registration.id }, { jobKey: `release-hold:${registration.id}`, runAt: holdExpiresAt })
    return {
      kind: 'hold',
      registrationId: registration.id,
      eventId: event.id,
      amountMinor: registration.amount_minor,
      currency: ticket.currency,
      quantity: request.quantity,
      email: request.email,
      holdExpiresAt,
    }
  }
  // A free place is never made to wait for a confirmed address; only its email may be withheld.
  if (registration.status === 'confirmed') {
    if (freeMayEmail) await sendConfirmation(trx, registration.id)
    return { kind: 'confirmed', registrationId: registration.id, manageUrl }
  }
  // The place on the waitlist counts once the address is confirmed from the email (ADR 023).
  await scheduleWaitlistConfirmation(trx, registration.id, now)
  if (freeMayEmail ?? (await mayEmailUnconfirmed(trx, request.email, 'registration'))) await sendWaitlisted(trx, registration.id)
  return { kind: 'waitlisted', registrationId: registration.id, position: await waitlistPosition(trx, registration.id), manageUrl }
}



