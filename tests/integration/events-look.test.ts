import QRCode from 'qrcode'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { seedDemoData } from '#scripts/seed/demo-data.ts'
import * as root from '#app/root.tsx'
import { loader as eventLoader } from '#app/routes/events.$slug.tsx'
import { loader as eventsLoader } from '#app/routes/events._index.tsx'
import { loader as homeLoader } from '#app/routes/_index.tsx'
import { loader as savedLoader } from '#app/routes/saved.tsx'
import { loader as bookingLoader } from '#app/routes/registrations.$id.tsx'
import { action as newEventAction } from '#app/routes/staff.events.new.tsx'
import { action as editEventAction } from '#app/routes/staff.events.$id_.edit.tsx'
import { loader as photoLoader } from '#app/routes/photos.$file.ts'
import { eventPriceLabel, ticketLine, type TicketPrice } from '#app/modules/events/ticket-prices.ts'
import { getOrCreateSaver, saveEvent } from '#app/modules/events/saved-events.server.ts'
import { CHECKIN_QR_OPTIONS } from '#app/modules/registrations/registration-emails.server.ts'
import { saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { formatMoneyShort } from '#app/utils/money.ts'
import { manageRegistrationUrl, signedCheckinCode } from '#app/utils/signed-links.server.ts'
import { renderEmail } from '#emails/index.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'
import { createStaff, sessionCookieFor, settle } from './staff-fixtures.ts'

/** Issue 13, "Events that read like Eventbrite or Luma" (docs/decisions/027). */

const db = getDb()
const APP = 'https://events.example.org'
const IN_PERSON = 'witness-testimonies-evening'
const ONLINE = 'online-briefing-enforced-disappearances'
/** A real 1×1 PNG. */
const PNG = new Uint8Array(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'))

let staffCookie: string

beforeAll(async () => {
  vi.stubEnv('APP_URL', APP)
  resetEnvForTests()
  await seedDemoData(db)
  staffCookie = await sessionCookieFor((await createStaff('staff')).id)
})
afterAll(() => {
  vi.unstubAllEnvs()
  resetEnvForTests()
})

const ticket = (kind: TicketPrice['kind'], priceMinor = 0, minPriceMinor = 0, currency = 'GBP', name = 'Ticket'): TicketPrice => ({ name, kind, priceMinor, minPriceMinor, currency })

describe('prices in words', () => {
  test('every card has a price line: Free, one price, or From the lowest, in the currency’s own units', () => {
    expect(eventPriceLabel([])).toBeNull()
    expect(eventPriceLabel([ticket('free')])).toBe('Free')
    expect(eventPriceLabel([ticket('paid', 4_500)])).toBe('£45')
    expect(eventPriceLabel([ticket('paid', 1_250)])).toBe('£12.50')
    expect(eventPriceLabel([ticket('paid', 4_500), ticket('paid', 2_000)])).toBe('From £20')
    expect(eventPriceLabel([ticket('pay_what_you_can', 1_000, 300)])).toBe('From £3')
    expect(eventPriceLabel([ticket('free'), ticket('pay_what_you_can', 1_000, 300)])).toBe('Free, or from £3')
    expect(eventPriceLabel([ticket('free'), ticket('pay_what_you_can', 1_000, 0)])).toBe('Free, or pay what you can')
    expect(eventPriceLabel([ticket('pay_what_you_can', 500, 0)])).toBe('Pay what you can')
    // Zero-decimal and three-decimal currencies: minor units are yen and fils.
    expect(eventPriceLabel([ticket('paid', 1_500, 0, 'JPY')])).toBe('JP¥1,500')
    expect(eventPriceLabel([ticket('paid', 2_500, 0, 'KWD'), ticket('paid', 5_000, 0, 'KWD')])).toBe(`From ${formatMoneyShort(2_500, 'KWD')}`)
    expect(formatMoneyShort(2_500, 'KWD')).toMatch(/^KWD\s2\.500$/)
  })

  test('“Free place”, not “Free place: free”; other tickets keep their price', () => {
    expect(ticketLine(ticket('free', 0, 0, 'GBP', 'Free place'))).toBe('Free place')
    expect(ticketLine(ticket('free', 0, 0, 'GBP', 'Standard'))).toBe('Standard: free')
    expect(ticketLine(ticket('paid', 4_500, 0, 'GBP', 'Dinner ticket'))).toBe('Dinner ticket: £45.00 a place')
  })

  test('the events list, the home page and /saved give each card its price line', async () => {
    const { upcoming, past } = await eventsLoader()
    const bySlug = new Map([...upcoming, ...past].map((event) => [event.slug, event.priceLabel]))
    expect(bySlug.get(IN_PERSON)).toBe('Free, or from £3')
    expect(bySlug.get(ONLINE)).toBe('Free')
    expect(bySlug.get('annual-fundraising-dinner')).toBe('£45')
    const home = await homeLoader()
    expect(home.events.every((event) => typeof event.priceLabel === 'string')).toBe(true)

    const saverId = await getOrCreateSaver(db, null)
    const eventId = (await db.selectFrom('events').select('id').where('slug', '=', IN_PERSON).executeTakeFirstOrThrow()).id
    await saveEvent(db, saverId, eventId)
    const cookie = (await saverCookieHeader(saverId)).split(';')[0]!
    const saved = await savedLoader({ request: new Request(`${APP}/saved`, { headers: { Cookie: cookie } }), params: {}, context: {} })
    expect(saved.upcoming.map((event) => event.priceLabel)).toEqual(['Free, or from £3'])
  })
})

describe('the event page', () => {
  const load = (slug: string) => eventLoader({ request: new Request(`http://10.0.0.5/events/${slug}`), params: { slug }, context: {} })

  test('names a free ticket once, and links the venue’s address to OpenStreetMap’s search', async () => {
    const page = await load(IN_PERSON)
    expect(page.ticketTypes.map((ticket) => ticket.line)).toEqual(['Free place', 'Pay what you can: from £3.00 a place, as you choose'])
    expect(page.event.mapUrl).toBe(`https://www.openstreetmap.org/search?query=${encodeURIComponent('173 Euston Road, London NW1 2BJ')}`)
    expect((await load(ONLINE)).event.mapUrl).toBeNull()
  })
})

describe('the saved count beside “Saved”', () => {
  test('is this browser’s own count, and nothing for a browser without a saver (the pages the cache keeps)', async () => {
    expect((await root.loader({ request: new Request(`${APP}/events`) })).savedCount).toBe(0)
    const saverId = await getOrCreateSaver(db, null)
    const events = await db.selectFrom('events').select('id').where('status', '=', 'published').execute()
    for (const event of events.slice(0, 2)) await saveEvent(db, saverId, event.id)
    const cookie = (await saverCookieHeader(saverId)).split(';')[0]!
    expect((await root.loader({ request: new Request(`${APP}/events`, { headers: { Cookie: cookie } }) })).savedCount).toBe(2)
    // A draft drops out of /saved, and out of the count.
    await db.updateTable('events').set({ status: 'draft' }).where('id', '=', events[0]!.id).execute()
    expect((await root.loader({ request: new Request(`${APP}/events`, { headers: { Cookie: cookie } }) })).savedCount).toBe(1)
    await db.updateTable('events').set({ status: 'published' }).where('id', '=', events[0]!.id).execute()
  })
})

describe('cover photos', () => {
  function eventForm(fields: Record<string, string>, file?: Uint8Array) {
    const form = new FormData()
    for (const [name, value] of Object.entries(fields)) form.append(name, value)
    form.append('photo', file ? new File([Buffer.from(file)], 'cover.png', { type: 'image/png' }) : new File([], '', { type: 'application/octet-stream' }))
    return form
  }
  function post(path: string, form: FormData) {
    return new Request(`${APP}${path}`, { method: 'POST', headers: { Origin: APP, 'Sec-Fetch-Site': 'same-origin', Cookie: staffCookie }, body: form })
  }
  const baseFields = (slug: string) => ({
    title: 'Cover night',
    slug,
    summary: 'With a picture',
    description: 'About it',
    organiserName: 'CAGE',
    startsAt: '2030-06-14T18:30',
    endsAt: '2030-06-14T21:00',
    timeZone: 'Europe/London',
    mode: 'in_person',
    venueName: 'The hall',
    venueAddress: '1 High Street\nLondon',
    capacity: '40',
    maxPerOrder: '4',
    status: 'published',
    'tickets[0].name': 'Free place',
    'tickets[0].kind': 'free',
    'tickets[0].currency': 'GBP',
  })
  const serve = (path: string) => photoLoader({ request: new Request(`${APP}${path}`), params: { file: path.slice('/photos/'.length) }, context: {} })

  test('staff add a cover on the new event form; the page shows it and shares it as og:image from APP_URL; replacing and removing it take the old one down', async () => {
    const slug = `cover-${Date.now()}`
    const missingAlt = await settle(() => newEventAction({ request: post('/staff/events/new', eventForm(baseFields(slug), PNG)), params: {}, context: {} }))
    expect(missingAlt.status).toBe(400)
    expect(JSON.stringify(missingAlt.body)).toContain('Describe the cover photo')

    const created = await settle(() =>
      newEventAction({ request: post('/staff/events/new', eventForm({ ...baseFields(slug), photoAlt: 'The hall set out for a talk' }, PNG)), params: {}, context: {} }),
    )
    expect(created.status).toBe(303)
    const event = await db.selectFrom('events').selectAll().where('slug', '=', slug).executeTakeFirstOrThrow()
    expect(event.cover_photo_path).toMatch(/^\/photos\/[0-9a-f-]{36}\.[0-9a-f]{64}\.png$/)
    expect(event.cover_photo_alt).toBe('The hall set out for a talk')
    const first = event.cover_photo_path!
    const served = await serve(first)
    expect(served.status).toBe(200)
    expect(served.headers.get('Content-Type')).toBe('image/png')

    const page = await eventLoader({ request: new Request(`http://10.0.0.5/events/${slug}`), params: { slug }, context: {} })
    expect(page.event.coverPath).toBe(first)
    expect(page.imageUrl).toBe(`${APP}${first}`)
    const { meta } = await import('#app/routes/events.$slug.tsx')
    const tags = meta({ data: page } as unknown as Parameters<typeof meta>[0]) as Record<string, string>[]
    expect(tags).toContainEqual({ property: 'og:image', content: `${APP}${first}` })
    expect(tags).toContainEqual({ property: 'og:image:alt', content: 'The hall set out for a talk' })
    // The card shows it too.
    const { upcoming } = await eventsLoader()
    expect(upcoming.find((card) => card.slug === slug)).toMatchObject({ cover_photo_path: first, cover_photo_alt: 'The hall set out for a talk' })

    // Replace it: a new address; the old one answers 404 from the commit on.
    const other = new Uint8Array(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR42mNk+M9QzwAEjDAGACCDAv8cI7IoAAAAAElFTkSuQmCC', 'base64'))
    const edit = (fields: Record<string, string>, file?: Uint8Array) =>
      settle(() => editEventAction({ request: post(`/staff/events/${event.id}/edit`, eventForm(fields, file)), params: { id: event.id }, context: {} }))
    expect((await edit({ ...baseFields(slug), photoAlt: 'Two chairs' }, other)).status).toBe(303)
    const replaced = await db.selectFrom('events').select(['cover_photo_path', 'cover_photo_alt']).where('id', '=', event.id).executeTakeFirstOrThrow()
    expect(replaced.cover_photo_path).not.toBe(first)
    expect(replaced.cover_photo_alt).toBe('Two chairs')
    expect((await serve(first)).status).toBe(404)
    expect((await serve(replaced.cover_photo_path!)).status).toBe(200)

    // An edit that does not touch the cover keeps it; removing it takes it down.
    expect((await edit({ ...baseFields(slug), photoAlt: 'Two chairs' })).status).toBe(303)
    expect((await db.selectFrom('events').select('cover_photo_path').where('id', '=', event.id).executeTakeFirstOrThrow()).cover_photo_path).toBe(replaced.cover_photo_path)
    expect((await edit({ ...baseFields(slug), photoAlt: '', removePhoto: 'on' })).status).toBe(303)
    const removed = await db.selectFrom('events').select(['cover_photo_path', 'cover_photo_id', 'cover_photo_alt']).where('id', '=', event.id).executeTakeFirstOrThrow()
    expect(removed).toEqual({ cover_photo_path: null, cover_photo_id: null, cover_photo_alt: null })
    expect((await serve(replaced.cover_photo_path!)).status).toBe(404)
  })

  test('a file that is not an image is refused beside the field, and nothing is saved', async () => {
    const slug = `not-a-cover-${Date.now()}`
    const form = eventForm({ ...baseFields(slug), photoAlt: 'x' })
    form.set('photo', new File([Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')], 'cover.svg', { type: 'image/svg+xml' }))
    const answer = await settle(() => newEventAction({ request: post('/staff/events/new', form), params: {}, context: {} }))
    expect(answer.status).toBe(400)
    expect(JSON.stringify(answer.body)).toContain('The photo must be a JPEG, PNG or WebP image')
    expect(await db.selectFrom('events').select('id').where('slug', '=', slug).executeTakeFirst()).toBeUndefined()
  })
})

describe('the booking page', () => {
  async function book(mode: 'in_person' | 'online') {
    const event = await createEvent({ capacity: 5, mode })
    const request = registrationRequest(event)
    const outcome = await register(request)
    expect(outcome.kind).toBe('confirmed')
    const registration = await db.selectFrom('registrations').selectAll().where('email', '=', request.email).executeTakeFirstOrThrow()
    const url = new URL(manageRegistrationUrl(registration.id))
    const page = await bookingLoader({ request: new Request(url), params: { id: registration.id }, context: {} })
    return { event, registration, page, email: request.email }
  }

  test('in person: “You’re booked”, what was paid, the check-in QR code as inline SVG of the signed code, and calendar links with nothing of the booking', async () => {
    const { page, registration, event } = await book('in_person')
    expect(page.booking.heading).toBe('You’re booked')
    expect(page.booking.paid).toBe('Free')
    expect(page.booking.online).toBe(false)
    const expected = await QRCode.toString(signedCheckinCode(registration.checkin_token!), { errorCorrectionLevel: CHECKIN_QR_OPTIONS.errorCorrectionLevel, margin: CHECKIN_QR_OPTIONS.margin, type: 'svg' })
    expect(page.booking.qrSvg).toBe(expected)
    expect(page.booking.qrSvg).toMatch(/^<svg /)
    expect(page.booking.qrSvg).not.toMatch(/<script|href|data:/i)
    expect(page.booking.calendar?.icsUrl).toBe(`/events/${event.slug}/calendar.ics`)
    expect(page.booking.calendar?.googleUrl).toMatch(/^https:\/\/calendar\.google\.com\//)
    for (const url of [page.booking.calendar!.googleUrl, page.booking.calendar!.outlookUrl]) {
      expect(url).not.toContain(registration.id)
      expect(url).not.toContain('signature')
    }
  })

  test('a paid place says what was paid, in the currency’s own units', async () => {
    const { page, registration } = await book('in_person')
    await db.updateTable('registrations').set({ amount_minor: 1_500, currency: 'JPY' }).where('id', '=', registration.id).execute()
    const again = await bookingLoader({ request: new Request(manageRegistrationUrl(registration.id)), params: { id: registration.id }, context: {} })
    expect(page.booking.paid).toBe('Free')
    expect(again.booking.paid).toBe('JP¥1,500')
  })

  test('online: no QR code and no talk of arriving, in the page or the confirmation email', async () => {
    const { page, email } = await book('online')
    expect(page.booking.heading).toBe('You’re booked')
    expect(page.booking.online).toBe(true)
    expect(page.booking.qrSvg).toBeNull()
    expect(page.registration.onlineUrl).toBe('https://meet.example.org/secret-room')

    const row = await db.selectFrom('email_outbox').selectAll().where('to_address', '=', email).where('template', '=', 'registration-confirmed').executeTakeFirstOrThrow()
    const attachments = row.attachments
    expect(attachments.map((attachment) => attachment.filename)).not.toContain('check-in.png')
    const rendered = await renderEmail('registration-confirmed', row.props)
    expect(rendered.text).not.toMatch(/when you arrive/i)
    expect(rendered.text).not.toMatch(/QR code/)
    expect(rendered.text).toMatch(/join with the link above/)
  })

  test('in person, the email still says to show the attached QR code when arriving', async () => {
    const { email } = await book('in_person')
    const row = await db.selectFrom('email_outbox').selectAll().where('to_address', '=', email).where('template', '=', 'registration-confirmed').executeTakeFirstOrThrow()
    const rendered = await renderEmail('registration-confirmed', row.props)
    expect(rendered.text).toMatch(/When you arrive, show the attached QR code/)
  })
})
