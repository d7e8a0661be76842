import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { emailSchedulingSettled } from '#app/modules/email/outbox.server.ts'
import { action as eventAction } from '#app/routes/events.$slug.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { closeRateLimitStore } from '#app/utils/rate-limit.server.ts'
import { createEvent } from './registration-fixtures.ts'
import { postRequest, settle } from './staff-fixtures.ts'

/**
 * Staff raise the registration limit for one event (issue 13: a dinner whose tables all register
 * over the venue's Wi-Fi). The setting here is 3 so that "one more than the setting" is quick to
 * reach; the defaults' 200 is tested in rate-limits.test.ts.
 */
const SETTING = 3
const db = getDb()

beforeAll(() => {
  process.env.REGISTRATION_RATE_LIMIT = String(SETTING)
  resetEnvForTests()
})
afterAll(async () => {
  delete process.env.REGISTRATION_RATE_LIMIT
  delete process.env.RATE_LIMIT_STORE
  resetEnvForTests()
  await closeRateLimitStore()
})

let addressCounter = 0
function address() {
  addressCounter += 1
  return `198.19.${addressCounter >> 8}.${addressCounter & 255}`
}

async function eventWithLimit(limit: number | null) {
  const event = await createEvent({ capacity: 100 })
  if (limit !== null) await db.updateTable('events').set({ registration_rate_limit: limit }).where('id', '=', event.eventId).execute()
  return event
}

async function registerFrom(event: { slug: string; ticketTypeId: string }, ip: string) {
  const fields = {
    submissionId: randomUUID(),
    ticketTypeId: event.ticketTypeId,
    quantity: '1',
    name: 'Table Guest',
    email: `guest-${randomUUID().slice(0, 8)}@example.org`,
    privacyConsent: 'on',
  }
  const answer = await settle(() => eventAction({ request: postRequest(`/events/${event.slug}`, fields, { ip }), params: { slug: event.slug }, context: {} }))
  await emailSchedulingSettled()
  return answer.status
}

async function registrationsOf(eventId: string) {
  return (await db.selectFrom('registrations').select('id').where('event_id', '=', eventId).execute()).length
}

describe.each(['memory', 'postgres'] as const)('with the %s rate-limit store', (store) => {
  beforeAll(async () => {
    await closeRateLimitStore()
    process.env.RATE_LIMIT_STORE = store
    resetEnvForTests()
  })

  test('an event with its own limit takes registration N+1 from one address, where an event on the setting refuses it', async () => {
    const usual = await eventWithLimit(null)
    const dinner = await eventWithLimit(SETTING + 2)
    const room = address()

    // On the setting: N, then 429 and nothing written.
    for (let attempt = 0; attempt < SETTING; attempt++) expect(await registerFrom(usual, room)).toBe(303)
    expect(await registerFrom(usual, room)).toBe(429)
    expect(await registrationsOf(usual.eventId)).toBe(SETTING)

    // The dinner's own limit: the same address, already refused elsewhere, registers N+1 and N+2.
    for (let attempt = 0; attempt < SETTING + 2; attempt++) expect(await registerFrom(dinner, room)).toBe(303)
    expect(await registerFrom(dinner, room)).toBe(429)
    expect(await registrationsOf(dinner.eventId)).toBe(SETTING + 2)

    // Raising the dinner's limit raised no other event's, and another address is untouched.
    expect(await registerFrom(usual, room)).toBe(429)
    expect(await registerFrom(usual, address())).toBe(303)
  })

  test('registrations for the raised event do not use up the address’s allowance for other events', async () => {
    const usual = await eventWithLimit(null)
    const dinner = await eventWithLimit(SETTING * 3)
    const room = address()
    for (let attempt = 0; attempt < SETTING * 3; attempt++) expect(await registerFrom(dinner, room)).toBe(303)
    for (let attempt = 0; attempt < SETTING; attempt++) expect(await registerFrom(usual, room)).toBe(303)
    expect(await registerFrom(usual, room)).toBe(429)
  })
})
