import { randomUUID } from 'node:crypto'
import type { RegistrationRequest } from '#app/modules/registrations/registration-request.ts'
import { getDb } from '#app/utils/db.server.ts'
import { registerForEvent } from '#app/modules/registrations/register.server.ts'
import { confirmWaitlistPlace } from '#app/modules/registrations/waitlist.server.ts'

export async function createEvent(options: { capacity: number; startsInHours?: number; maxPerOrder?: number; mode?: 'in_person' | 'online' }) {
  const db = getDb()
  const startsAt = new Date(Date.now() + (options.startsInHours ?? 24 * 14) * 60 * 60 * 1000)
  const event = await db
    .insertInto('events')
    .values({
      slug: `event-${randomUUID().slice(0, 8)}`,
      title: 'Test event',
      summary: 'For the tests',
      description_markdown: 'Description',
      starts_at: startsAt,
      ends_at: new Date(startsAt.getTime() + 2 * 60 * 60 * 1000),
      time_zone: 'Europe/London',
      mode: options.mode ?? 'in_person',
      venue_name: 'Community hall',
      venue_address: '1 High Street, London',
      online_url: options.mode === 'online' ? 'https://meet.example.org/secret-room' : null,
      organiser_name: 'Organiser',
      capacity: options.capacity,
      max_per_order: options.maxPerOrder ?? 4,
      status: 'published',
      published_at: new Date(),
    })
    .returning(['id', 'slug'])
    .executeTakeFirstOrThrow()
  const ticket = await db
    .insertInto('ticket_types')
    .values({ event_id: event.id, name: 'Free place', kind: 'free', currency: 'GBP' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { eventId: event.id, slug: event.slug, ticketTypeId: ticket.id }
}

let ip = 0

export function registrationRequest(event: { eventId: string; ticketTypeId: string }, overrides: Partial<RegistrationRequest> = {}): RegistrationRequest {
  return {
    eventId: event.eventId,
    ticketTypeId: event.ticketTypeId,
    submissionId: randomUUID(),
    name: 'Sam Test',
    email: `sam-${randomUUID().slice(0, 8)}@example.org`,
    quantity: 1,
    accessNeeds: null,
    chosenPriceMinor: null,
    ...overrides,
  }
}

/**
 * Each registration from its own address, as 50 different people would be. Someone put on the
 * waitlist confirms their address from the email at once, as a real person does (ADR 023), unless
 * `confirmWaitlist: false` plays someone who never opens it.
 */
export async function register(request: RegistrationRequest, options: { confirmWaitlist?: boolean; clientIp?: string } = {}) {
  ip += 1
  const clientIp = options.clientIp ?? `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`
  const outcome = await registerForEvent(getDb(), request, { origin: 'http://localhost:3000', clientIp })
  if (outcome.kind === 'waitlisted' && options.confirmWaitlist !== false) await confirmWaitlistPlace(getDb(), outcome.registrationId)
  return outcome
}

export async function registrationsOf(eventId: string) {
  return getDb().selectFrom('registrations').selectAll().where('event_id', '=', eventId).orderBy('created_at').execute()
}

export async function placesTaken(eventId: string) {
  return (await getDb().selectFrom('events').select(['places_taken', 'capacity']).where('id', '=', eventId).executeTakeFirstOrThrow())
}
