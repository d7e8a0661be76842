import { beforeAll, expect, test } from 'vitest'
import { getDb } from '#app/utils/db.server.ts'
import { action as newAction } from '#app/routes/staff.events.new.tsx'
import { createStaff, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

/** Issue 13: the event form adds ticket rows as needed without JavaScript. */

let cookie: string
const args = (request: Request) => ({ request, params: {}, context: {} })

beforeAll(async () => {
  cookie = await sessionCookieFor((await createStaff('staff')).id)
})

test('without JavaScript, “Add a ticket” answers the form with one more ticket row and saves nothing', async () => {
  const slug = `add-ticket-${Date.now()}`
  const fields: Record<string, string> = {
    title: 'Rights night',
    slug,
    timeZone: 'Europe/London',
    'tickets[0].name': 'Standard',
    'tickets[0].kind': 'paid',
    'tickets[0].price': '12.50',
    'tickets[0].currency': 'GBP',
    // What the button sends: conform's intent, as a browser without JavaScript submits it.
    __intent__: JSON.stringify({ type: 'insert', payload: { name: 'tickets', defaultValue: { kind: 'free', currency: 'GBP' } } }),
  }
  const answer = await settle(() => newAction(args(postRequest('/staff/events/new', fields, { cookie }))))
  expect(answer.status).toBe(200)
  const reply = answer.body as { initialValue?: { tickets?: unknown[]; title?: string } }
  expect(reply.initialValue?.title).toBe('Rights night')
  expect(reply.initialValue?.tickets).toHaveLength(2)
  expect(reply.initialValue?.tickets?.[1]).toMatchObject({ kind: 'free', currency: 'GBP' })
  expect(await getDb().selectFrom('events').select('id').where('slug', '=', slug).executeTakeFirst()).toBeUndefined()
})
