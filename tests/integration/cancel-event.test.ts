import { sql } from 'kysely'
import { expect, test } from 'vitest'
import { cancelEvent } from '#app/modules/registrations/cancel-event.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { createEvent, placesTaken, register, registrationRequest, registrationsOf } from './registration-fixtures.ts'

const db = getDb()

test('cancelling an event tells everyone registered once, refunds paid places, and takes no more registrations', async () => {
  const event = await createEvent({ capacity: 2 })
  const people = [registrationRequest(event), registrationRequest(event), registrationRequest(event)]
  for (const person of people) await register(person)
  // One confirmed place was paid for: as the webhook leaves a paid registration.
  const [paid] = await registrationsOf(event.eventId)
  await db.updateTable('registrations').set({ amount_minor: 1_500, stripe_payment_intent_id: 'pi_paid_place' }).where('id', '=', paid!.id).execute()

  const result = await cancelEvent(db, event.eventId, { message: 'The venue has flooded. We are so sorry.', staffUserId: null })
  expect(result).toEqual({ outcome: 'cancelled', told: 3, refunded: 1 })
  expect(await cancelEvent(db, event.eventId, { message: null, staffUserId: null })).toEqual({ outcome: 'already-cancelled' })

  expect((await registrationsOf(event.eventId)).map((row) => row.status)).toEqual(['refunded', 'cancelled', 'cancelled'])
  expect(await placesTaken(event.eventId)).toMatchObject({ places_taken: 0 })
  for (const person of people) {
    const emails = await db.selectFrom('email_outbox').select(['template', 'props']).where('to_address', '=', person.email).where('template', '=', 'event-cancelled').execute()
    expect(emails).toHaveLength(1)
    expect(JSON.stringify(emails[0]!.props)).toContain('The venue has flooded')
  }
  const { rows } = await sql<{ n: number }>`select count(*)::bigint as n from graphile_worker.jobs where key = ${`refund-registration:${paid!.id}`}`.execute(db)
  expect(rows[0]!.n).toBe(1)
  const audit = await db.selectFrom('audit_log').selectAll().where('subject_id', '=', event.eventId).execute()
  expect(audit.map((row) => row.action)).toEqual(['event.cancel'])

  expect(await register(registrationRequest(event))).toEqual({ kind: 'closed', reason: 'cancelled' })
})

test('staff cancel an event from its registrations page; a cross-site post or a missing confirmation changes nothing', async () => {
  const { action } = await import('#app/routes/staff.events.$id.tsx')
  const { createStaff, sessionCookieFor, postRequest, settle } = await import('./staff-fixtures.ts')
  const event = await createEvent({ capacity: 3 })
  const person = registrationRequest(event)
  await register(person)
  const staff = await createStaff('staff')
  const cookie = await sessionCookieFor(staff.id)
  const path = `/staff/events/${event.eventId}`
  const status = async () => (await db.selectFrom('events').select('status').where('id', '=', event.eventId).executeTakeFirstOrThrow()).status

  const crossSite = await settle(() =>
    action({ request: postRequest(path, { intent: 'cancel-event', confirm: 'yes' }, { cookie, headers: { Origin: 'https://evil.example' } }), params: { id: event.eventId }, context: {} }),
  )
  expect(crossSite.status).toBe(403)
  const unconfirmed = await settle(() => action({ request: postRequest(path, { intent: 'cancel-event' }, { cookie }), params: { id: event.eventId }, context: {} }))
  expect(unconfirmed.status).toBe(400)
  expect(await status()).toBe('published')

  const done = await settle(() =>
    action({ request: postRequest(path, { intent: 'cancel-event', confirm: 'yes', message: 'Sorry: the speaker is ill.' }, { cookie }), params: { id: event.eventId }, context: {} }),
  )
  expect(done.status).toBe(200)
  expect(await status()).toBe('cancelled')
  const audit = await db.selectFrom('audit_log').select(['action', 'staff_user_id']).where('subject_id', '=', event.eventId).execute()
  expect(audit).toEqual([{ action: 'event.cancel', staff_user_id: staff.id }])
  expect((await db.selectFrom('email_outbox').select('template').where('to_address', '=', person.email).execute()).map((row) => row.template)).toContain('event-cancelled')
})
