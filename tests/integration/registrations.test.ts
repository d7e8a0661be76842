import { sql } from 'kysely'
import { describe, expect, test } from 'vitest'
import { renderEmail } from '#emails/index.ts'
import { action as manageAction, loader as manageLoader } from '#app/routes/registrations.$id.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { manageRegistrationUrl } from '#app/utils/signed-links.server.ts'
import { createEvent, placesTaken, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'
import { checkinQrAttachment } from '#app/modules/registrations/registration-emails.server.ts'
import { sendEventReminders } from '#app/modules/registrations/reminders.server.ts'
import { cancelRegistration } from '#app/modules/registrations/self-service.server.ts'
import { claimOffer } from '#app/modules/registrations/waitlist-claim.server.ts'
import { expireOffer } from '#app/modules/registrations/waitlist.server.ts'

const db = getDb()
const ORIGIN = { origin: 'http://localhost:3000' }

async function outbox(email: string) {
  return db.selectFrom('email_outbox').selectAll().where('to_address', '=', email).orderBy('created_at').execute()
}

describe('free registration', () => {
  test('confirms at once while places remain, with a confirmation email carrying a calendar file', async () => {
    const event = await createEvent({ capacity: 3, mode: 'online' })
    const request = registrationRequest(event, { quantity: 2 })
    const outcome = await register(request)
    expect(outcome).toMatchObject({ kind: 'confirmed', manageUrl: expect.stringContaining('/registrations/') })
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 2, capacity: 3 })
    const [email] = await outbox(request.email)
    expect(email!.template).toBe('registration-confirmed')
    expect(email!.attachments[0]!.contentType).toContain('text/calendar')
    const calendar = Buffer.from(email!.attachments[0]!.contentBase64, 'base64').toString()
    expect(calendar).toContain('BEGIN:VEVENT')
    // Registered people get the joining link.
    expect(JSON.stringify(email!.props)).toContain('https://meet.example.org/secret-room')
  })

  test('a full event puts people on the waitlist, in order', async () => {
    const event = await createEvent({ capacity: 1 })
    await register(registrationRequest(event))
    const second = await register(registrationRequest(event))
    const third = await register(registrationRequest(event))
    expect(second).toMatchObject({ kind: 'waitlisted', position: 1 })
    expect(third).toMatchObject({ kind: 'waitlisted', position: 2 })
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
  })

  test('a double submit, or the same email again, is one registration', async () => {
    const event = await createEvent({ capacity: 5 })
    const request = registrationRequest(event)
    const outcomes = await Promise.all([register(request), register(request)])
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['already-registered', 'confirmed'])
    const resubmitted = await register(request)
    expect(resubmitted).toMatchObject({ kind: 'already-registered', manageUrl: expect.stringContaining('/registrations/') })
    // Someone else typing this address learns nothing from the page: the link goes to the address.
    const again = await register({ ...registrationRequest(event), email: request.email.toUpperCase() })
    expect(again).toMatchObject({ kind: 'already-registered', manageUrl: null })
    const emails = await outbox(request.email)
    // docs/decisions/021: "you already have a place", with the link, at most once a day.
    expect(emails.map((email) => email.template)).toEqual(['registration-confirmed', 'registration-exists'])
    expect(emails[1]!.idempotency_key).toMatch(/\/\d{4}-\d{2}-\d{2}$/)
    expect(await registrationsOf(event.eventId)).toHaveLength(1)
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
  })

  test('bad input writes nothing', async () => {
    const event = await createEvent({ capacity: 5, maxPerOrder: 2 })
    expect(await register(registrationRequest(event, { quantity: 3 }))).toMatchObject({ kind: 'invalid', field: 'quantity' })
    expect(await register(registrationRequest(event, { ticketTypeId: '00000000-0000-4000-8000-000000000000' }))).toMatchObject({ kind: 'invalid', field: 'ticketTypeId' })
    const past = await createEvent({ capacity: 5, startsInHours: -1 })
    expect(await register(registrationRequest(past))).toEqual({ kind: 'closed', reason: 'past' })
    expect(await registrationsOf(event.eventId)).toHaveLength(0)
    expect(await registrationsOf(past.eventId)).toHaveLength(0)
  })
})

describe('capacity under concurrency', () => {
  test('50 simultaneous registrations for 1 place: exactly 1 confirmation and 49 on the waitlist', async () => {
    const event = await createEvent({ capacity: 1 })
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => register(registrationRequest(event))))
    const kinds = outcomes.map((outcome) => outcome.kind)
    expect(kinds.filter((kind) => kind === 'confirmed')).toHaveLength(1)
    expect(kinds.filter((kind) => kind === 'waitlisted')).toHaveLength(49)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 1, capacity: 1 })
    const rows = await registrationsOf(event.eventId)
    expect(rows.filter((row) => row.status === 'confirmed')).toHaveLength(1)
  })

  test('1,000 attempts for 100 places: 100 confirmed, 900 waiting, none oversold', async () => {
    const event = await createEvent({ capacity: 100 })
    const outcomes = []
    // Fifty at a time: as concurrent as the pool allows, without 1,000 sockets at once.
    for (let batch = 0; batch < 20; batch++) {
      outcomes.push(...(await Promise.all(Array.from({ length: 50 }, () => register(registrationRequest(event))))))
    }
    expect(outcomes.filter((outcome) => outcome.kind === 'confirmed')).toHaveLength(100)
    expect(outcomes.filter((outcome) => outcome.kind === 'waitlisted')).toHaveLength(900)
    expect(await placesTaken(event.eventId)).toEqual({ places_taken: 100, capacity: 100 })
    const { rows } = await sql<{ confirmed: number }>`
      select coalesce(sum(quantity), 0)::bigint as confirmed from registrations where event_id = ${event.eventId} and status = 'confirmed'`.execute(db)
    expect(rows[0]!.confirmed).toBe(100)
  }, 120_000)
})

describe('the waitlist', () => {
  test('a cancellation frees the place at once and offers it to the first person waiting, who claims it', async () => {
    const event = await createEvent({ capacity: 1 })
    const first = await register(registrationRequest(event))
    const waiting = registrationRequest(event)
    const second = await register(waiting)
    const third = await register(registrationRequest(event))
    if (first.kind !== 'confirmed' || second.kind !== 'waitlisted' || third.kind !== 'waitlisted') throw new Error('setup')

    expect(await cancelRegistration(db, first.registrationId)).toBe('cancelled')
    expect(await cancelRegistration(db, first.registrationId)).toBe('already-cancelled')
    const rows = await registrationsOf(event.eventId)
    expect(rows.map((row) => row.status)).toEqual(['cancelled', 'offered', 'waitlisted'])
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
    expect((await outbox(waiting.email)).map((email) => email.template)).toEqual(['waitlist-joined', 'place-offered'])

    expect(await claimOffer(db, second.registrationId, ORIGIN)).toEqual({ outcome: 'confirmed' })
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['cancelled', 'confirmed', 'waitlisted'])
  })

  test('an unclaimed offer passes to the next person when it lapses', async () => {
    const event = await createEvent({ capacity: 1 })
    const first = await register(registrationRequest(event))
    const second = await register(registrationRequest(event))
    const third = await register(registrationRequest(event))
    if (first.kind !== 'confirmed' || second.kind !== 'waitlisted' || third.kind !== 'waitlisted') throw new Error('setup')
    await cancelRegistration(db, first.registrationId)
    const { rows } = await sql<{ run_at: Date }>`select run_at from graphile_worker.jobs where key = ${`expire-offer:${second.registrationId}`}`.execute(db)
    expect(rows[0]!.run_at.getTime() - Date.now()).toBeGreaterThan(23 * 60 * 60 * 1000)

    await expireOffer(db, second.registrationId, new Date(Date.now() + 25 * 60 * 60 * 1000))
    expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['cancelled', 'expired', 'offered'])
    expect(await claimOffer(db, second.registrationId, ORIGIN)).toEqual({ outcome: 'not-offered' })
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 1 })
  })
})

describe('reminders', () => {
  test('go once to each confirmed person, even when the job runs twice at once', async () => {
    const soon = await createEvent({ capacity: 5, startsInHours: 20 })
    const later = await createEvent({ capacity: 5, startsInHours: 24 * 10 })
    const people = [registrationRequest(soon), registrationRequest(soon), registrationRequest(later)]
    for (const person of people) await register(person)
    const results = await Promise.all([sendEventReminders(db), sendEventReminders(db)])
    expect(results[0]!.sent + results[1]!.sent).toBe(2)
    await sendEventReminders(db)
    for (const person of people.slice(0, 2)) {
      expect((await outbox(person.email)).filter((email) => email.template === 'event-reminder')).toHaveLength(1)
    }
    expect((await outbox(people[2]!.email)).filter((email) => email.template === 'event-reminder')).toHaveLength(0)
  })

  test('carry the check-in QR code as the confirmation does', async () => {
    const soon = await createEvent({ capacity: 5, startsInHours: 20 })
    const person = registrationRequest(soon)
    const outcome = await register(person)
    if (outcome.kind !== 'confirmed') throw new Error('setup')
    await sendEventReminders(db)
    const emails = await outbox(person.email)
    const confirmation = emails.find((email) => email.template === 'registration-confirmed')!
    const reminder = emails.find((email) => email.template === 'event-reminder')!
    const { checkin_token } = await db.selectFrom('registrations').select('checkin_token').where('id', '=', outcome.registrationId).executeTakeFirstOrThrow()
    expect(reminder.props).toMatchObject({ checkinCode: checkin_token, hasQrAttachment: true })
    const qr = reminder.attachments.find((file) => file.filename === 'check-in.png')
    expect(qr).toEqual(await checkinQrAttachment(checkin_token!))
    expect(qr).toEqual(confirmation.attachments.find((file) => file.filename === 'check-in.png'))
    const { html, text } = await renderEmail('event-reminder', reminder.props)
    for (const output of [html, text]) expect(output).toContain('attached QR code (check-in.png)')
  })
})

describe('the signed link in each email', () => {
  test('shows the place, lets the person cancel, and refuses a forged signature', async () => {
    const event = await createEvent({ capacity: 2, mode: 'online' })
    const outcome = await register(registrationRequest(event))
    if (outcome.kind !== 'confirmed') throw new Error('setup')
    const url = new URL(manageRegistrationUrl(outcome.registrationId))
    const page = await manageLoader({ request: new Request(url), params: { id: outcome.registrationId }, context: {} })
    expect(page.registration).toMatchObject({ status: 'confirmed', onlineUrl: 'https://meet.example.org/secret-room' })

    const forged = new URL(url)
    forged.searchParams.set('signature', 'x'.repeat(43))
    await expect(manageLoader({ request: new Request(forged), params: { id: outcome.registrationId }, context: {} })).rejects.toMatchObject({ status: 404 })

    const form = new URLSearchParams({ signature: url.searchParams.get('signature')!, intent: 'cancel' })
    const result = await manageAction({ request: new Request(url, { method: 'POST', body: form }), params: { id: outcome.registrationId }, context: {} })
    // The answer now also says what happened to the place and the money (issue 13): nobody was waiting, so it was freed.
    expect(result).toEqual({ done: 'cancelled', message: null, cancellation: { afterwards: 'freed', paid: false, refund: null, daysBefore: 7, previousStatus: 'confirmed' } })
    expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 0 })
  })
})

describe('settings for offers and reminders', () => {
  test('WAITLIST_OFFER_HOURS sets how long an offer holds, and EVENT_REMINDER_HOURS how early reminders go', async () => {
    const { resetEnvForTests } = await import('#app/utils/env.server.ts')
    process.env.WAITLIST_OFFER_HOURS = '2'
    process.env.EVENT_REMINDER_HOURS = '48'
    resetEnvForTests()
    try {
      const event = await createEvent({ capacity: 1, startsInHours: 36 })
      const first = await register(registrationRequest(event))
      const second = await register(registrationRequest(event))
      if (first.kind !== 'confirmed' || second.kind !== 'waitlisted') throw new Error('setup')
      const before = Date.now()
      expect(await cancelRegistration(db, first.registrationId)).toBe('cancelled')
      const offered = (await registrationsOf(event.eventId)).find((row) => row.id === second.registrationId)!
      const holdsMs = offered.offer_expires_at!.getTime() - before
      expect(holdsMs).toBeGreaterThan(1.9 * 60 * 60 * 1000)
      expect(holdsMs).toBeLessThan(2.1 * 60 * 60 * 1000)

      // 36 hours away: inside 48 hours, so the confirmed person (the one who claims) is reminded.
      expect(await claimOffer(db, second.registrationId, ORIGIN)).toEqual({ outcome: 'confirmed' })
      await sendEventReminders(db)
      const reminded = await db.selectFrom('registrations').select('reminder_sent_at').where('id', '=', second.registrationId).executeTakeFirstOrThrow()
      expect(reminded.reminder_sent_at).not.toBeNull()
    } finally {
      delete process.env.WAITLIST_OFFER_HOURS
      delete process.env.EVENT_REMINDER_HOURS
      resetEnvForTests()
    }
  })
})
