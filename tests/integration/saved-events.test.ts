import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { saveCountsByEvent } from '#app/modules/events/saved-events.server.ts'
import { action as saveAction, loader as saveLoader } from '#app/routes/events.save.ts'
import { loader as eventsLoader } from '#app/routes/events._index.tsx'
import { loader as savedLoader } from '#app/routes/saved.tsx'
import { loader as homeLoader } from '#app/routes/_index.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'

const db = getDb()
const ORIGIN = 'http://localhost:3000'

let upcomingId: string
let pastId: string
let draftId: string

beforeAll(async () => {
  await seedDemoData(db)
  const events = await db.selectFrom('events').select(['id', 'slug']).execute()
  const bySlug = new Map(events.map((event) => [event.slug, event.id]))
  upcomingId = bySlug.get('witness-testimonies-evening')!
  pastId = bySlug.get('annual-fundraising-dinner')!
  draftId = bySlug.get('online-briefing-enforced-disappearances')!
  await db.updateTable('events').set({ status: 'draft' }).where('id', '=', draftId).execute()
})

type Answer = { status: number; body: unknown; headers: Headers }

/** The action answers with a plain object, `data()` or a redirect Response; read them all alike. */
function readAnswer(result: unknown): Answer {
  if (result instanceof Response) return { status: result.status, body: null, headers: result.headers }
  if (result && typeof result === 'object' && 'type' in result && result.type === 'DataWithResponseInit') {
    const { data, init } = result as unknown as { data: unknown; init: ResponseInit | null }
    return { status: init?.status ?? 200, body: data, headers: new Headers(init?.headers) }
  }
  return { status: 200, body: result, headers: new Headers() }
}

function postSave(
  fields: Record<string, string>,
  options: { cookie?: string | null; headers?: Record<string, string> } = {},
) {
  const headers = new Headers({ Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', ...options.headers })
  if (options.cookie) headers.set('Cookie', options.cookie)
  return new Request(`${ORIGIN}/events/save`, { method: 'POST', headers, body: new URLSearchParams(fields) })
}

async function submit(fields: Record<string, string>, options: Parameters<typeof postSave>[1] = {}) {
  const request = postSave(fields, options)
  return readAnswer(await saveAction({ request, params: {}, context: {} }))
}

/** The name=value part of a Set-Cookie header, as the browser would send it back. */
function cookieFrom(answer: Answer) {
  const setCookie = answer.headers.get('Set-Cookie')
  expect(setCookie).toBeTruthy()
  return setCookie!.split(';')[0]!
}

function pageRequest(path: string, cookie: string | null) {
  return new Request(`${ORIGIN}${path}`, { headers: cookie ? { Cookie: cookie } : {} })
}

async function rowCount() {
  const { count } = await db
    .selectFrom('saved_events')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow()
  return Number(count)
}

describe('saving an event without an account', () => {
  let cookie: string

  test('a first save makes an anonymous saver, writes the row and sets a signed, long-lived cookie', async () => {
    const saversBefore = await db.selectFrom('savers').select('id').execute()
    const answer = await submit({ eventId: upcomingId, intent: 'save', redirectTo: '/events?from=card', _fetcher: '1' })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ saved: true })

    const setCookie = answer.headers.get('Set-Cookie')!
    expect(setCookie).toMatch(/^sanad_saver=/)
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    expect(setCookie).toMatch(/Path=\//)
    expect(setCookie).toMatch(/Max-Age=31536000/)
    cookie = cookieFrom(answer)

    const savers = await db.selectFrom('savers').select(['id', 'supporter_id']).execute()
    expect(savers).toHaveLength(saversBefore.length + 1)
    const rows = await db.selectFrom('saved_events').selectAll().execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.event_id).toBe(upcomingId)
    expect(savers.find((saver) => saver.id === rows[0]!.saver_id)?.supporter_id).toBeNull()
  })

  test('the lists and /saved show it as saved for this browser', async () => {
    const events = await eventsLoader({ request: pageRequest('/events', cookie) })
    expect(events.savedEventIds).toEqual([upcomingId])
    const home = await homeLoader({ request: pageRequest('/', cookie) })
    expect(home.savedEventIds).toEqual([upcomingId])

    const saved = await savedLoader({ request: pageRequest('/saved', cookie), params: {}, context: {} })
    expect(saved.upcoming.map((event) => event.id)).toEqual([upcomingId])
    expect(saved.past).toEqual([])
  })

  test('saving twice is one row, and the same saver', async () => {
    const answer = await submit({ eventId: upcomingId, intent: 'save', _fetcher: '1' }, { cookie })
    expect(answer.body).toEqual({ saved: true })
    expect(await rowCount()).toBe(1)
    expect(await db.selectFrom('savers').select('id').execute()).toHaveLength(1)
  })

  test('/saved puts upcoming events first and past ones after', async () => {
    await submit({ eventId: pastId, intent: 'save', _fetcher: '1' }, { cookie })
    const saved = await savedLoader({ request: pageRequest('/saved', cookie), params: {}, context: {} })
    expect(saved.upcoming.map((event) => event.slug)).toEqual(['witness-testimonies-evening'])
    expect(saved.past.map((event) => event.slug)).toEqual(['annual-fundraising-dinner'])
  })

  test('staff can count the saves of each event', async () => {
    const other = cookieFrom(await submit({ eventId: upcomingId, intent: 'save', _fetcher: '1' }))
    const counts = await saveCountsByEvent(db)
    expect(counts.get(upcomingId)).toBe(2)
    expect(counts.get(pastId)).toBe(1)
    expect(counts.get(draftId)).toBeUndefined()
    expect((await saveCountsByEvent(db, [pastId])).get(upcomingId)).toBeUndefined()
    await submit({ eventId: upcomingId, intent: 'unsave', _fetcher: '1' }, { cookie: other })
    expect((await saveCountsByEvent(db)).get(upcomingId)).toBe(1)
  })

  test('unsaving twice is fine, and the event leaves /saved', async () => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const answer = await submit({ eventId: pastId, intent: 'unsave', _fetcher: '1' }, { cookie })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({ saved: false })
    }
    const saved = await savedLoader({ request: pageRequest('/saved', cookie), params: {}, context: {} })
    expect(saved.past).toEqual([])
    expect(saved.upcoming.map((event) => event.id)).toEqual([upcomingId])
  })

  test('another browser, with no cookie, has saved nothing', async () => {
    const events = await eventsLoader({ request: pageRequest('/events', null) })
    expect(events.savedEventIds).toEqual([])
    expect((await eventsLoader()).savedEventIds).toEqual([])
    const saved = await savedLoader({ request: pageRequest('/saved', null), params: {}, context: {} })
    expect(saved).toEqual({ upcoming: [], past: [], settings: null, justKept: false })
  })

  test('a forged cookie counts as no cookie', async () => {
    const [, value] = cookie.split('=')
    const saverId = JSON.parse(atob(decodeURIComponent(value!).split('.')[0]!)) as string
    const forged = `sanad_saver=${encodeURIComponent(btoa(JSON.stringify(saverId)))}.forged`
    const events = await eventsLoader({ request: pageRequest('/events', forged) })
    expect(events.savedEventIds).toEqual([])
  })

  test('unsaving in a browser that never saved makes no saver and sets no cookie', async () => {
    const saversBefore = (await db.selectFrom('savers').select('id').execute()).length
    const answer = await submit({ eventId: upcomingId, intent: 'unsave', _fetcher: '1' })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ saved: false })
    expect(answer.headers.get('Set-Cookie')).toBeNull()
    expect(await db.selectFrom('savers').select('id').execute()).toHaveLength(saversBefore)
  })
})

describe('without JavaScript', () => {
  test('a plain form post redirects back to the page it came from, with the cookie', async () => {
    const answer = await submit({ eventId: upcomingId, intent: 'save', redirectTo: '/events?page=2' })
    expect(answer.status).toBe(303)
    expect(answer.headers.get('Location')).toBe('/events?page=2')
    expect(answer.headers.get('Set-Cookie')).toMatch(/^sanad_saver=/)
  })

  // Browsers drop tabs and newlines from URLs and read a backslash as a slash, so each of these
  // would leave the site.
  test.each(['//evil.example', '/\\evil.example', '/\t/evil.example', 'https://evil.example/events', 'events', ''])(
    'redirectTo %j is refused and falls back to /events',
    async (redirectTo) => {
      const answer = await submit({ eventId: upcomingId, intent: 'save', redirectTo })
      expect(answer.status).toBe(303)
      expect(answer.headers.get('Location')).toBe('/events')
    },
  )

  test('a missing redirectTo falls back to /events', async () => {
    const answer = await submit({ eventId: upcomingId, intent: 'save' })
    expect(answer.headers.get('Location')).toBe('/events')
  })
})

describe('refused', () => {
  test('a bad eventId or intent is a 400 with field errors, and nothing is written', async () => {
    const before = await rowCount()
    const answer = await submit({ eventId: 'not-a-uuid', intent: 'bookmark', _fetcher: '1' })
    expect(answer.status).toBe(400)
    const { errors } = answer.body as { errors: Record<string, string[]> }
    expect(errors.eventId).toBeDefined()
    expect(errors.intent).toBeDefined()
    expect(answer.headers.get('Set-Cookie')).toBeNull()
    expect(await rowCount()).toBe(before)
  })

  test('without JavaScript the refusals are real Responses, so their status reaches the browser', async () => {
    const bad = await saveAction({ request: postSave({ eventId: 'x', intent: 'save' }), params: {}, context: {} })
    expect(bad).toBeInstanceOf(Response)
    expect((bad as Response).status).toBe(400)
    const unknown = await saveAction({ request: postSave({ eventId: randomUUID(), intent: 'save' }), params: {}, context: {} })
    expect(unknown).toBeInstanceOf(Response)
    expect((unknown as Response).status).toBe(404)
    const crossSite = await saveAction({
      request: postSave({ eventId: upcomingId, intent: 'save' }, { headers: { Origin: 'https://evil.example' } }),
      params: {},
      context: {},
    })
    expect(crossSite).toBeInstanceOf(Response)
    expect((crossSite as Response).status).toBe(403)
  })

  test('an unknown event is a 404', async () => {
    const answer = await submit({ eventId: randomUUID(), intent: 'save', _fetcher: '1' })
    expect(answer.status).toBe(404)
    expect(answer.headers.get('Set-Cookie')).toBeNull()
  })

  test('a draft event is a 404, and no saver is made for it', async () => {
    const saversBefore = (await db.selectFrom('savers').select('id').execute()).length
    const answer = await submit({ eventId: draftId, intent: 'save', redirectTo: '/events' })
    expect(answer.status).toBe(404)
    expect(await db.selectFrom('savers').select('id').execute()).toHaveLength(saversBefore)
  })

  test.each<{ label: string; headers: Record<string, string> }>([
    { label: 'an Origin from another site', headers: { Origin: 'https://evil.example' } },
    { label: 'Sec-Fetch-Site: cross-site', headers: { Origin: ORIGIN, 'Sec-Fetch-Site': 'cross-site' } },
    { label: 'Origin: null', headers: { Origin: 'null' } },
  ])('a cross-site post ($label) is a 403 and nothing is written', async ({ headers }) => {
    const rowsBefore = await rowCount()
    const saversBefore = (await db.selectFrom('savers').select('id').execute()).length
    const answer = await submit({ eventId: pastId, intent: 'save', redirectTo: '/saved' }, { headers })
    expect(answer.status).toBe(403)
    expect(answer.headers.get('Set-Cookie')).toBeNull()
    expect(await rowCount()).toBe(rowsBefore)
    expect(await db.selectFrom('savers').select('id').execute()).toHaveLength(saversBefore)
  })

  test('a post with no Origin header (an older browser) is still served', async () => {
    const request = new Request(`${ORIGIN}/events/save`, {
      method: 'POST',
      body: new URLSearchParams({ eventId: upcomingId, intent: 'save', _fetcher: '1' }),
    })
    const answer = readAnswer(await saveAction({ request, params: {}, context: {} }))
    expect(answer.status).toBe(200)
  })

  test('GET is not allowed', async () => {
    const response = await saveLoader()
    expect(response.status).toBe(405)
    expect(response.headers.get('Allow')).toBe('POST')
  })
})

test('reading the pages makes no saver', async () => {
  const saversBefore = (await db.selectFrom('savers').select('id').execute()).length
  await eventsLoader({ request: pageRequest('/events', null) })
  await homeLoader({ request: pageRequest('/', null) })
  await savedLoader({ request: pageRequest('/saved', null), params: {}, context: {} })
  expect(await db.selectFrom('savers').select('id').execute()).toHaveLength(saversBefore)
})
