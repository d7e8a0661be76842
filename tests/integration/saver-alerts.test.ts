import { randomUUID } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { fewPlacesThreshold, sendSaverAlerts } from '#app/modules/events/saver-alerts.server.ts'
import { maskEmail } from '#app/modules/events/saver-links.server.ts'
import { action as saveAction } from '#app/routes/events.save.ts'
import { action as alertsOffAction, loader as alertsOffLoader } from '#app/routes/saved_.alerts.off.tsx'
import { action as verifyAction, loader as verifyLoader } from '#app/routes/saved_.verify.tsx'
import { action as savedAction, loader as savedLoader } from '#app/routes/saved.tsx'
import { CLIENT_IP_HEADER } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readSaverId } from '#app/utils/saver-cookie.server.ts'
import { createEvent } from './registration-fixtures.ts'

const db = getDb()
const ORIGIN = 'http://localhost:3000'
let ipCounter = 0

type Answer = { status: number; body: any; headers: Headers }

/** The action answers with a plain object, `data()` or a Response; read them all alike. */
function readAnswer(result: unknown): Answer {
  if (result instanceof Response) return { status: result.status, body: null, headers: result.headers }
  if (result && typeof result === 'object' && 'type' in result && result.type === 'DataWithResponseInit') {
    const { data, init } = result as unknown as { data: unknown; init: ResponseInit | null }
    return { status: init?.status ?? 200, body: data, headers: new Headers(init?.headers) }
  }
  return { status: 200, body: result, headers: new Headers() }
}

/** A same-origin form POST from one browser, each from its own address (rate limits are per address). */
function post(path: string, fields: Record<string, string>, cookie: string | null) {
  ipCounter += 1
  const headers = new Headers({ Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', [CLIENT_IP_HEADER]: `10.9.${ipCounter >> 8}.${ipCounter & 255}` })
  if (cookie) headers.set('Cookie', cookie)
  return new Request(`${ORIGIN}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) })
}

function get(url: string, cookie: string | null) {
  return new Request(url, { headers: cookie ? { Cookie: cookie } : {} })
}

function cookieFrom(answer: Answer) {
  const setCookie = answer.headers.get('Set-Cookie')
  expect(setCookie).toBeTruthy()
  return setCookie!.split(';')[0]!
}

async function saverOf(cookie: string) {
  return (await readSaverId(get(`${ORIGIN}/saved`, cookie)))!
}

/** Saves events in one browser; returns its cookie. */
async function browserSaving(eventIds: string[], cookie: string | null = null) {
  for (const eventId of eventIds) {
    const answer = readAnswer(await saveAction({ request: post('/events/save', { eventId, intent: 'save', _fetcher: '1' }, cookie), params: {}, context: {} }))
    expect(answer.status).toBe(200)
    cookie = cookieFrom(answer)
  }
  return cookie!
}

async function askForLink(cookie: string | null, fields: Record<string, string>) {
  return readAnswer(await savedAction({ request: post('/saved', fields, cookie), params: {}, context: {} }))
}

async function outboxFor(email: string) {
  return db.selectFrom('email_outbox').selectAll().where('to_address', '=', email).orderBy('created_at').execute()
}

/** Where each link was sent, so that opening it can type that address by default. */
const sentTo = new Map<string, string>()

async function latestLink(email: string) {
  const links = (await outboxFor(email)).filter((row) => row.template === 'saved-events-link')
  const link = new URL(links.at(-1)!.props.linkUrl as string)
  sentTo.set(link.href, email)
  return link
}

type Confirmation = { typed?: string; addOwnSaves?: boolean }

/** Confirms a link as the page asks: typing the address it was sent to (unless told otherwise). */
function confirm(link: URL, cookie: string | null, { typed, addOwnSaves = false }: Confirmation = {}) {
  const fields: Record<string, string> = {
    token: link.searchParams.get('token') ?? '',
    signature: link.searchParams.get('signature') ?? '',
    email: typed ?? sentTo.get(link.href) ?? '',
  }
  if (addOwnSaves) fields.addOwnSaves = 'on'
  return verifyAction({ request: post('/saved/verify', fields, cookie), params: {}, context: {} }).then(readAnswer)
}

async function openLink(link: URL, cookie: string | null, confirmation: Confirmation = {}) {
  const page = await verifyLoader({ request: get(link.href, cookie), params: {}, context: {} })
  return { page, answer: await confirm(link, cookie, confirmation) }
}

/** Whether the link would still work: its confirm page (which writes nothing) still offers it. */
async function linkWorks(link: URL) {
  return (await verifyLoader({ request: get(link.href, null), params: {}, context: {} })).link !== null
}

async function savedIds(cookie: string | null) {
  const saved = await savedLoader({ request: get(`${ORIGIN}/saved`, cookie), params: {}, context: {} })
  return saved.upcoming.map((event) => event.id).sort()
}

async function saver(id: string) {
  return db.selectFrom('savers').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

function email() {
  return `saver-${randomUUID().slice(0, 8)}@example.org`
}

/** A browser that saved the events and confirmed its address, with the alerts chosen. */
async function linkedBrowser(eventIds: string[], alerts: { reminder?: boolean; fewPlaces?: boolean }) {
  const address = email()
  const cookie = await browserSaving(eventIds)
  const fields: Record<string, string> = { email: address }
  if (alerts.reminder) fields.alertsReminder = 'on'
  if (alerts.fewPlaces) fields.alertsFewPlaces = 'on'
  expect((await askForLink(cookie, fields)).status).toBe(200)
  const { answer } = await openLink(await latestLink(address), cookie)
  expect(answer.status).toBe(303)
  const joined = cookieFrom(answer)
  return { cookie: joined, address, saverId: await saverOf(joined) }
}

/** Asks for a link in one browser and confirms it in another (adding the opener's saves unless told not to); returns the opener's new cookie. */
async function askAndOpen(asking: string | null, opening: string | null, address: string, addOwnSaves = true) {
  expect((await askForLink(asking, { email: address })).status).toBe(200)
  const { answer } = await openLink(await latestLink(address), opening, { addOwnSaves })
  expect(answer.status).toBe(303)
  return cookieFrom(answer)
}

async function supporterOf(address: string) {
  return (await db.selectFrom('supporters').select('id').where('email', '=', address).executeTakeFirstOrThrow()).id
}

async function eventWith(options: { capacity: number; taken: number; startsInHours: number }) {
  const event = await createEvent({ capacity: options.capacity, startsInHours: options.startsInHours })
  await db.updateTable('events').set({ places_taken: options.taken }).where('id', '=', event.eventId).execute()
  return event.eventId
}

async function alertsTo(address: string) {
  return (await outboxFor(address)).filter((row) => row.template === 'saved-event-alert')
}

describe('keeping saved events on another device', () => {
  test("the link verifies once; the browser opening it joins the address's list and the asking browser's saves are copied in", async () => {
    const [e1, e2, e3] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const first = await browserSaving([e1!, e2!])
    const second = await browserSaving([e2!, e3!])
    const firstSaver = await saverOf(first)
    const secondSaver = await saverOf(second)
    const address = email()

    const asked = await askForLink(first, { email: address, alertsReminder: 'on' })
    expect(asked.status).toBe(200)
    expect(asked.body.sentTo).toBe(address)
    const [sent] = await outboxFor(address)
    expect(sent).toMatchObject({ template: 'saved-events-link', props: { alertsReminder: true, alertsFewPlaces: false, expiresInMinutes: 60 } })
    // Nothing is written anywhere before the link is opened.
    expect(await saver(firstSaver)).toMatchObject({ supporter_id: null, alerts_reminder: false })
    expect(await db.selectFrom('supporters').select('id').where('email', '=', address).execute()).toHaveLength(0)

    const link = await latestLink(address)
    expect(link.pathname).toBe('/saved/verify')
    // A mail scanner's GET spends nothing.
    expect((await verifyLoader({ request: get(link.href, null), params: {}, context: {} })).link).not.toBeNull()
    const { page, answer } = await openLink(link, second, { addOwnSaves: true })
    // The page said, before the button, whose list it is and what each browser would add.
    expect(page.preview).toMatchObject({ maskedEmail: maskEmail(address), addedCount: 2, askedHere: false, ownCount: 2 })
    expect(page.link).not.toBeNull()
    expect(answer.status).toBe(303)
    expect(answer.headers.get('Location')).toBe('/saved?kept=1')
    const joined = cookieFrom(answer)
    const listSaver = await saverOf(joined)
    expect([firstSaver, secondSaver]).not.toContain(listSaver)

    const all = [e1!, e2!, e3!].sort()
    expect(await savedIds(joined)).toEqual(all)
    // A browser still holding the opener's old cookie (another device joined to it before) sees the list too.
    expect(await savedIds(second)).toEqual(all)
    expect(await saver(secondSaver)).toMatchObject({ merged_into_id: listSaver })
    // The asking browser keeps only its own saves, and nothing of the address.
    expect(await savedIds(first)).toEqual([e1!, e2!].sort())
    expect(await saver(firstSaver)).toMatchObject({ supporter_id: null, merged_into_id: null, alerts_reminder: false })
    const owner = await saver(listSaver)
    expect(owner).toMatchObject({ alerts_reminder: true, alerts_few_places: false, merged_into_id: null, supporter_id: await supporterOf(address) })

    // The same link again, in any browser, does nothing.
    const again = await openLink(link, null)
    expect(again.page.link).toBeNull()
    expect(again.answer.status).toBe(410)
    expect(again.answer.body.error).toMatch(/already been used/)

    // Joining again (a second link, asked and opened in browsers already joined) changes nothing.
    expect(await askAndOpen(joined, second, address)).toBe(joined)
    expect(await savedIds(joined)).toEqual(all)
    expect(await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', listSaver).execute()).toHaveLength(3)
    expect(await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', secondSaver).execute()).toHaveLength(0)
    expect(await db.selectFrom('savers').select('id').where('supporter_id', '=', owner.supporter_id).execute()).toHaveLength(1)
  })

  test("someone typing another person's address sees nothing of what that person saves, then or later", async () => {
    const [a1, b1, b2] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const attacker = await browserSaving([a1!])
    const attackerSaver = await saverOf(attacker)
    const victimAddress = email()
    const victim = await browserSaving([b1!])

    expect((await askForLink(attacker, { email: victimAddress, alertsReminder: 'on' })).status).toBe(200)
    const { page, answer } = await openLink(await latestLink(victimAddress), victim, { addOwnSaves: true })
    expect(page.preview).toMatchObject({ addedCount: 1, askedHere: false, ownCount: 1 })
    expect(answer.status).toBe(303)
    const victimJoined = cookieFrom(answer)

    expect(await savedIds(attacker)).toEqual([a1!])
    expect(await savedIds(victimJoined)).toEqual([a1!, b1!].sort())
    // Saved later in the victim's browser: still out of the attacker's sight.
    await browserSaving([b2!], victimJoined)
    expect(await savedIds(victimJoined)).toEqual([a1!, b1!, b2!].sort())
    expect(await savedIds(attacker)).toEqual([a1!])
    expect(await saverOf(attacker)).toBe(attackerSaver)
    expect(await saver(attackerSaver)).toMatchObject({ supporter_id: null, merged_into_id: null, alerts_reminder: false })
    // Asking again changes nothing for the attacker either.
    expect((await askForLink(attacker, { email: victimAddress })).status).toBe(200)
    expect(await savedIds(attacker)).toEqual([a1!])
  })

  test('asked on a phone and opened on a laptop, then opened on the phone too: both keep one list', async () => {
    const [p1, l1, p2] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const address = email()
    const phone = await browserSaving([p1!])
    const laptop = await askAndOpen(phone, await browserSaving([l1!]), address)
    expect(await savedIds(laptop)).toEqual([p1!, l1!].sort())
    // The phone has not opened a link: it sees its own saves only.
    expect(await savedIds(phone)).toEqual([p1!])

    expect((await askForLink(phone, { email: address })).status).toBe(200)
    const { page, answer } = await openLink(await latestLink(address), phone)
    expect(page.preview).toMatchObject({ addedCount: 0, askedHere: true, ownCount: 0 })
    const phoneJoined = cookieFrom(answer)
    expect(await saverOf(phoneJoined)).toBe(await saverOf(laptop))
    expect(await savedIds(phoneJoined)).toEqual([p1!, l1!].sort())
    await browserSaving([p2!], phoneJoined)
    expect(await savedIds(laptop)).toEqual([p1!, l1!, p2!].sort())
  })

  test('asked and opened in the same browser: that browser joins the list, its saves copied in', async () => {
    const [x1] = await Promise.all([createEvent({ capacity: 50 }).then((event) => event.eventId)])
    const address = email()
    const browser = await browserSaving([x1!])
    const ownSaver = await saverOf(browser)
    expect((await askForLink(browser, { email: address })).status).toBe(200)
    const { page, answer } = await openLink(await latestLink(address), browser)
    // Its saves are added as the asking browser's: there is no box to tick for them.
    expect(page.preview).toMatchObject({ addedCount: 1, askedHere: true, ownCount: 0 })
    const joined = cookieFrom(answer)
    const listSaver = await saverOf(joined)
    expect(await saver(listSaver)).toMatchObject({ supporter_id: await supporterOf(address), merged_into_id: null })
    // Not ticked, so the old saver is left as it was (and any browser still holding it with it).
    expect(await saver(ownSaver)).toMatchObject({ merged_into_id: null, supporter_id: null })
    expect(await savedIds(joined)).toEqual([x1!])
    expect(await savedIds(browser)).toEqual([x1!])
    // A new browser opening a later link finds the same list.
    expect(await saverOf(await askAndOpen(null, null, address))).toBe(listSaver)
  })

  test("a second address cannot take over the first address's list", async () => {
    const [f1, f2, s1] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const firstAddress = email()
    const secondAddress = email()
    const one = await browserSaving([f1!])
    const firstList = await saverOf(await askAndOpen(one, one, firstAddress))
    const otherDevice = await askAndOpen(null, await browserSaving([f2!]), firstAddress)
    expect(await saverOf(otherDevice)).toBe(firstList)
    expect(await savedIds(otherDevice)).toEqual([f1!, f2!].sort())
    await db.updateTable('savers').set({ alerts_reminder: true }).where('id', '=', firstList).execute()

    // A browser of the first list confirms a link for a second address, asked there and elsewhere.
    const moved = await askAndOpen(one, one, secondAddress)
    const secondList = await saverOf(moved)
    expect(secondList).not.toBe(firstList)
    const fromElsewhere = await askAndOpen(otherDevice, await browserSaving([s1!]), secondAddress)
    expect(await saverOf(fromElsewhere)).toBe(secondList)

    // The first list is still the first address's, whole, on its other device, with its alerts.
    expect(await saver(firstList)).toMatchObject({ supporter_id: await supporterOf(firstAddress), merged_into_id: null, alerts_reminder: true })
    expect(await saverOf(otherDevice)).toBe(firstList)
    expect(await savedIds(otherDevice)).toEqual([f1!, f2!].sort())
    expect(await saver(secondList)).toMatchObject({ supporter_id: await supporterOf(secondAddress), merged_into_id: null })
    expect(await savedIds(moved)).toEqual([f1!, f2!, s1!].sort())
    // A later link for the first address still opens the first list.
    expect(await saverOf(await askAndOpen(null, null, firstAddress))).toBe(firstList)
  })

  test('a forged, altered or expired link is refused', async () => {
    const cookie = await browserSaving([(await createEvent({ capacity: 5 })).eventId])
    const address = email()
    await askForLink(cookie, { email: address })
    const link = await latestLink(address)

    const forged = new URL(link)
    forged.searchParams.set('token', `${link.searchParams.get('token')!.slice(0, -2)}xx`)
    const refused = await openLink(forged, null)
    expect(refused.page.link).toBeNull()
    expect(refused.answer.status).toBe(400)

    await db.updateTable('saver_links').set({ expires_at: new Date(Date.now() - 1000) }).execute()
    const expired = await openLink(link, null)
    expect(expired.page.link).toBeNull()
    expect(expired.answer.status).toBe(410)
    expect((await saver(await saverOf(cookie))).supporter_id).toBeNull()
  })

  test("someone else's address cannot be subscribed without opening the link", async () => {
    const soon = await eventWith({ capacity: 10, taken: 8, startsInHours: 20 })
    const cookie = await browserSaving([soon])
    const victim = email()
    const asked = await askForLink(cookie, { email: victim, alertsReminder: 'on', alertsFewPlaces: 'on' })
    expect(asked.status).toBe(200)
    // The address is written nowhere but the pending link, and gets nothing but the link.
    expect(await db.selectFrom('supporters').select('id').where('email', '=', victim).execute()).toHaveLength(0)
    expect(await saver(await saverOf(cookie))).toMatchObject({ supporter_id: null, alerts_reminder: false, alerts_few_places: false })
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    expect((await outboxFor(victim)).map((row) => row.template)).toEqual(['saved-events-link'])

    // Once the owner of the address opens it, the alerts start.
    expect((await openLink(await latestLink(victim), null)).answer.status).toBe(303)
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 1, fewPlaces: 1 })
  })

  test('bad input answers 400 with the error beside the field, keeps the value, and writes nothing', async () => {
    const before = await db.selectFrom('saver_links').select('token_hash').execute()
    const answer = await askForLink(null, { email: 'not-an-address', alertsReminder: 'on' })
    expect(answer.status).toBe(400)
    expect(answer.body.result.error.email[0]).toMatch(/right format/)
    expect(answer.body.result.initialValue).toMatchObject({ email: 'not-an-address', alertsReminder: 'on' })
    expect(answer.headers.get('Set-Cookie')).toBeNull()
    expect(await db.selectFrom('saver_links').select('token_hash').execute()).toHaveLength(before.length)
    expect(await outboxFor('not-an-address')).toHaveLength(0)
  })

  test('a request from another site is refused', async () => {
    const request = new Request(`${ORIGIN}/saved`, {
      method: 'POST',
      headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
      body: new URLSearchParams({ email: email() }),
    })
    await expect(savedAction({ request, params: {}, context: {} })).rejects.toMatchObject({ status: 403 })
  })
})

describe('confirming a link by typing the address it was sent to', () => {
  test('the address is shown masked: first letters and the top-level domain only', () => {
    expect(maskEmail('maria@example.org')).toBe('m••••@e••••••.org')
    expect(maskEmail('x@mail.example.co.uk')).toBe('x@m•••.•••••••.••.uk')
  })

  test('a link forwarded by its owner to someone else joins nothing when that person types their own address', async () => {
    const [a1, v1, v2] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    // The agent asks for a link to their own address, and forwards it ("keep your saved events").
    const agentAddress = email()
    const agent = await browserSaving([a1!])
    expect((await askForLink(agent, { email: agentAddress })).status).toBe(200)
    const link = await latestLink(agentAddress)
    const activistAddress = email()
    const activist = await browserSaving([v1!])
    const activistSaver = await saverOf(activist)

    const { page, answer } = await openLink(link, activist, { typed: activistAddress, addOwnSaves: true })
    // The page named whose list it is, masked.
    expect(page.preview).toMatchObject({ maskedEmail: maskEmail(agentAddress), ownCount: 1 })
    expect(answer.status).toBe(400)
    expect(answer.body.result.error.email[0]).toBe(
      'That is not the address this link was sent to. If you did not ask for this link, close this page.',
    )
    expect(answer.body.result.initialValue).toMatchObject({ email: activistAddress })
    expect(answer.headers.get('Set-Cookie')).toBeNull()
    // Nothing joined, nothing written; the activist keeps saving out of the agent's sight.
    expect(await saver(activistSaver)).toMatchObject({ supporter_id: null, merged_into_id: null })
    expect(await db.selectFrom('supporters').select('id').where('email', 'in', [agentAddress, activistAddress]).execute()).toHaveLength(0)
    await browserSaving([v2!], activist)
    expect(await savedIds(activist)).toEqual([v1!, v2!].sort())
    expect(await savedIds(agent)).toEqual([a1!])

    // Leaving the address out is refused the same way, and spends nothing either.
    const empty = await confirm(link, activist, { typed: '   ' })
    expect(empty.status).toBe(400)
    expect(empty.body.result.error.email[0]).toMatch(/Type the email address this link was sent to/)

    // The link still works for its owner, typed in another case with spaces around.
    expect(await linkWorks(link)).toBe(true)
    const owner = await confirm(link, null, { typed: `  ${agentAddress.toUpperCase()} ` })
    expect(owner.status).toBe(303)
    const ownerList = await saverOf(cookieFrom(owner))
    expect(await savedIds(cookieFrom(owner))).toEqual([a1!])
    expect(await saverOf(activist)).toBe(activistSaver)
    expect(await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', ownerList).execute()).toHaveLength(1)
  })

  test('left unticked, the opening browser joins the list but its own saves stay behind', async () => {
    const [r1, o1, later] = await Promise.all([1, 2, 3].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const address = email()
    const asking = await browserSaving([r1!])
    const opening = await browserSaving([o1!])
    const openingSaver = await saverOf(opening)
    expect((await askForLink(asking, { email: address })).status).toBe(200)
    const { page, answer } = await openLink(await latestLink(address), opening, { addOwnSaves: false })
    expect(page.preview).toMatchObject({ addedCount: 1, askedHere: false, ownCount: 1 })
    expect(answer.status).toBe(303)
    const joined = cookieFrom(answer)
    const listSaver = await saverOf(joined)
    expect(listSaver).not.toBe(openingSaver)
    expect(await savedIds(joined)).toEqual([r1!])
    // The old saver keeps its saves and is not merged: the address never sees them.
    expect(await saver(openingSaver)).toMatchObject({ merged_into_id: null, supporter_id: null })
    expect(await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', openingSaver).execute()).toEqual([{ event_id: o1! }])
    // What it saves from now on goes to the list.
    await browserSaving([later!], joined)
    expect(await savedIds(joined)).toEqual([r1!, later!].sort())
  })

  test('ticked, the opening browser brings its own saves into the list', async () => {
    const [r1, o1] = await Promise.all([1, 2].map(() => createEvent({ capacity: 50 }).then((event) => event.eventId)))
    const address = email()
    const asking = await browserSaving([r1!])
    const opening = await browserSaving([o1!])
    const openingSaver = await saverOf(opening)
    expect((await askForLink(asking, { email: address })).status).toBe(200)
    const { answer } = await openLink(await latestLink(address), opening, { addOwnSaves: true })
    expect(answer.status).toBe(303)
    const listSaver = await saverOf(cookieFrom(answer))
    expect(await savedIds(cookieFrom(answer))).toEqual([r1!, o1!].sort())
    expect(await saver(openingSaver)).toMatchObject({ merged_into_id: listSaver })
    expect(await db.selectFrom('saved_events').select('event_id').where('saver_id', '=', openingSaver).execute()).toHaveLength(0)
  })

  test('five wrong addresses leave the link usable; the sixth spends it', async () => {
    const address = email()
    const stranger = await browserSaving([(await createEvent({ capacity: 50 })).eventId])
    const strangerSaver = await saverOf(stranger)
    expect((await askForLink(null, { email: address })).status).toBe(200)
    const link = await latestLink(address)
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = await confirm(link, stranger, { typed: `guess-${attempt}@example.org` })
      expect(wrong.status).toBe(400)
      expect(wrong.body.result.error.email[0]).toMatch(/not the address this link was sent to/)
      expect(await linkWorks(link)).toBe(true)
    }
    const sixth = await confirm(link, stranger, { typed: 'guess-6@example.org' })
    expect(sixth.status).toBe(410)
    expect(sixth.body.error).toMatch(/already been used/)
    expect(await linkWorks(link)).toBe(false)
    // Even the right address no longer opens it.
    const late = await confirm(link, stranger)
    expect(late.status).toBe(410)
    expect(late.body.error).toMatch(/already been used/)
    expect(await saver(strangerSaver)).toMatchObject({ supporter_id: null, merged_into_id: null })
    expect(await db.selectFrom('supporters').select('id').where('email', '=', address).execute()).toHaveLength(0)
  })
})

describe('alerts for saved events', () => {
  test('the threshold is 5 places, or a tenth of a large event', () => {
    expect(fewPlacesThreshold(20)).toBe(5)
    expect(fewPlacesThreshold(50)).toBe(5)
    expect(fewPlacesThreshold(120)).toBe(12)
  })

  test('each is sent once per saver and event, even when the job runs twice at once', async () => {
    const soonFew = await eventWith({ capacity: 10, taken: 6, startsInHours: 20 })
    const later = await eventWith({ capacity: 100, taken: 85, startsInHours: 24 * 10 })
    const plenty = await eventWith({ capacity: 40, taken: 0, startsInHours: 24 * 5 })
    const full = await eventWith({ capacity: 5, taken: 5, startsInHours: 24 * 5 })
    const { address, saverId } = await linkedBrowser([soonFew, later, plenty, full], { reminder: true, fewPlaces: true })
    // Someone who saved the same events without alerts hears nothing.
    const quiet = await linkedBrowser([soonFew, later], {})

    const runs = await Promise.all([sendSaverAlerts(db), sendSaverAlerts(db)])
    expect(runs.reduce((sum, run) => sum + run.reminders, 0)).toBe(1)
    expect(runs.reduce((sum, run) => sum + run.fewPlaces, 0)).toBe(1)
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    const sent = await alertsTo(address)
    expect(sent.map((row) => row.idempotency_key).sort()).toEqual([`saver-few-places:${saverId}:${soonFew}`, `saver-reminder:${saverId}:${soonFew}`])
    expect(sent.find((row) => row.props.kind === 'few-places')!.props).toMatchObject({ placesLeft: 4 })
    expect(await alertsTo(quiet.address)).toHaveLength(0)

    // 15 left of 100 is not few (the threshold is 10); 9 left is, once.
    await db.updateTable('events').set({ places_taken: 91 }).where('id', '=', later).execute()
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 1 })
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    // Places freed and taken again do not send it twice.
    await db.updateTable('events').set({ places_taken: 50 }).where('id', '=', later).execute()
    await sendSaverAlerts(db)
    await db.updateTable('events').set({ places_taken: 95 }).where('id', '=', later).execute()
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    expect((await alertsTo(address)).map((row) => row.idempotency_key)).toContain(`saver-few-places:${saverId}:${later}`)
    expect(await alertsTo(address)).toHaveLength(3)
  })

  test('a joining browser does not bring a second alert for an event already alerted', async () => {
    const soon = await eventWith({ capacity: 10, taken: 2, startsInHours: 20 })
    const { address, cookie } = await linkedBrowser([soon], { reminder: true })
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 1, fewPlaces: 0 })
    // Another browser saved it too, and joins.
    const other = await browserSaving([soon])
    expect((await askForLink(cookie, { email: address, alertsReminder: 'on' })).status).toBe(200)
    expect((await openLink(await latestLink(address), other, { addOwnSaves: true })).answer.status).toBe(303)
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    // Nor does a browser whose saves are copied in, having asked for a link opened elsewhere.
    await askAndOpen(await browserSaving([soon]), cookie, address)
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
    expect(await alertsTo(address)).toHaveLength(1)
  })

  test('the signed link in each alert turns the alerts off; a forged one does not', async () => {
    const soon = await eventWith({ capacity: 10, taken: 7, startsInHours: 20 })
    const { address, saverId } = await linkedBrowser([soon], { reminder: true, fewPlaces: true })
    await sendSaverAlerts(db)
    const [alert] = await alertsTo(address)
    const url = new URL(alert!.props.unsubscribeUrl as string)
    expect(url.pathname).toBe('/saved/alerts/off')
    expect(url.searchParams.get('saver')).toBe(saverId)

    const forged = new URL(url)
    forged.searchParams.set('signature', 'x'.repeat(43))
    await expect(alertsOffLoader({ request: get(forged.href, null), params: {}, context: {} })).rejects.toMatchObject({ status: 404 })
    const fields = Object.fromEntries(url.searchParams)
    await expect(
      alertsOffAction({ request: post('/saved/alerts/off', { ...fields, signature: 'x'.repeat(43) }, null), params: {}, context: {} }),
    ).rejects.toMatchObject({ status: 404 })
    expect(await saver(saverId)).toMatchObject({ alerts_reminder: true, alerts_few_places: true })

    // The GET only asks; the POST turns them off.
    expect(await alertsOffLoader({ request: get(url.href, null), params: {}, context: {} })).toMatchObject({ on: true })
    expect(await saver(saverId)).toMatchObject({ alerts_reminder: true })
    expect(await alertsOffAction({ request: post('/saved/alerts/off', fields, null), params: {}, context: {} })).toEqual({ off: true })
    expect(await saver(saverId)).toMatchObject({ alerts_reminder: false, alerts_few_places: false })

    const another = await eventWith({ capacity: 10, taken: 9, startsInHours: 20 })
    await db.insertInto('saved_events').values({ saver_id: saverId, event_id: another }).execute()
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
  })

  test('someone registered for a saved event gets no alert for it (their registration has its own reminder)', async () => {
    const event = await createEvent({ capacity: 10, startsInHours: 20 })
    const { address } = await linkedBrowser([event.eventId], { reminder: true, fewPlaces: true })
    await db.updateTable('events').set({ places_taken: 8 }).where('id', '=', event.eventId).execute()
    await db
      .insertInto('registrations')
      .values({
        event_id: event.eventId,
        ticket_type_id: event.ticketTypeId,
        name: 'Saver',
        email: address.toUpperCase(),
        currency: 'GBP',
        status: 'confirmed',
        privacy_consent_at: new Date(),
      })
      .execute()
    expect(await sendSaverAlerts(db)).toEqual({ reminders: 0, fewPlaces: 0 })
  })

  test('expired links are cleared by the job', async () => {
    const address = email()
    await askForLink(null, { email: address })
    await db.updateTable('saver_links').set({ expires_at: new Date(Date.now() - 1000) }).execute()
    await sendSaverAlerts(db)
    expect(await db.selectFrom('saver_links').select('token_hash').execute()).toHaveLength(0)
  })
})
