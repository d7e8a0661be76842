import fc from 'fast-check'
import ICAL from 'ical.js'
import { describe, expect, test } from 'vitest'
import { buildIcs, calendarSequence, type CalendarEvent, googleCalendarUrl, outlookCalendarUrl } from '#app/modules/events/ics.ts'
import { formatEventTime } from '#app/utils/dates.ts'

const base: CalendarEvent = {
  uid: 'reg-0001@sanad.example.org',
  title: 'Witness: an evening with former detainees',
  startsAt: '2026-01-15T18:30:00Z',
  endsAt: '2026-01-15T20:00:00Z',
  timeZone: 'Europe/London',
  organiserName: 'Sanad Justice Project',
  organiserEmail: 'events@example.org',
  now: new Date('2026-01-01T09:00:00Z'),
}

function parseVevent(ics: string) {
  const calendar = new ICAL.Component(ICAL.parse(ics))
  const vevent = calendar.getFirstSubcomponent('vevent')
  if (!vevent) throw new Error('no VEVENT')
  return { calendar, vevent }
}

function instant(vevent: InstanceType<typeof ICAL.Component>, name: string) {
  const value = vevent.getFirstPropertyValue(name)
  if (!(value instanceof ICAL.Time)) throw new Error(`${name} is not a date-time`)
  expect(value.isDate).toBe(false)
  expect(value.zone?.tzid).toBe('UTC')
  return value.toJSDate().toISOString()
}

function contentLines(ics: string) {
  expect(ics.endsWith('\r\n')).toBe(true)
  return ics.slice(0, -2).split('\r\n')
}

function unfold(ics: string) {
  return ics.replace(/\r\n[ \t]/g, '')
}

describe('buildIcs', () => {
  test('writes a complete VCALENDAR with CRLF line endings', () => {
    const ics = buildIcs({
      ...base,
      description: 'Three speakers, then questions.',
      location: 'Friends Meeting House, 173 Euston Road, London',
      url: 'https://example.org/events/witness-evening',
    })
    // Every line break is CRLF: no bare LF or CR anywhere.
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/)
    const lines = contentLines(unfold(ics))
    expect(lines[0]).toBe('BEGIN:VCALENDAR')
    expect(lines.at(-1)).toBe('END:VCALENDAR')
    expect(lines).toEqual(
      expect.arrayContaining([
        'VERSION:2.0',
        'CALSCALE:GREGORIAN',
        'METHOD:PUBLISH',
        'UID:reg-0001@sanad.example.org',
        'DTSTAMP:20260101T090000Z',
        'DTSTART:20260115T183000Z',
        'DTEND:20260115T200000Z',
        'SEQUENCE:0',
        'STATUS:CONFIRMED',
        'URL:https://example.org/events/witness-evening',
        'ORGANIZER;CN="Sanad Justice Project":mailto:events@example.org',
      ]),
    )
    expect(lines.some((line) => line.startsWith('PRODID:'))).toBe(true)

    const { calendar, vevent } = parseVevent(ics)
    expect(calendar.getFirstPropertyValue('method')).toBe('PUBLISH')
    expect(vevent.getFirstPropertyValue('summary')).toBe(base.title)
    expect(vevent.getFirstPropertyValue('description')).toBe('Three speakers, then questions.')
    expect(vevent.getFirstPropertyValue('location')).toBe('Friends Meeting House, 173 Euston Road, London')
    expect(vevent.getFirstPropertyValue('uid')).toBe(base.uid)
    const organizer = vevent.getFirstProperty('organizer')
    expect(organizer?.getFirstValue()).toBe('mailto:events@example.org')
    expect(organizer?.getParameter('cn')).toBe('Sanad Justice Project')
  })

  test.each([
    {
      case: 'London in winter (GMT)',
      startsAt: '2026-01-15T18:30:00+00:00',
      endsAt: '2026-01-15T20:00:00+00:00',
      timeZone: 'Europe/London',
      localStart: '18:30 GMT',
      localEnd: '20:00 GMT',
      utcStart: '2026-01-15T18:30:00.000Z',
      utcEnd: '2026-01-15T20:00:00.000Z',
    },
    {
      case: 'London in summer (BST)',
      startsAt: '2026-07-02T18:00:00+01:00',
      endsAt: '2026-07-02T19:00:00+01:00',
      timeZone: 'Europe/London',
      localStart: '18:00 BST',
      localEnd: '19:00 BST',
      utcStart: '2026-07-02T17:00:00.000Z',
      utcEnd: '2026-07-02T18:00:00.000Z',
    },
    {
      // The clocks go back at 02:00 BST on 25 October 2026: 00:30 is BST, 03:00 is GMT,
      // so the event lasts three and a half hours, not two and a half.
      case: 'London on the night the clocks go back',
      startsAt: '2026-10-25T00:30:00+01:00',
      endsAt: '2026-10-25T03:00:00+00:00',
      timeZone: 'Europe/London',
      localStart: '00:30 BST',
      localEnd: '03:00 GMT',
      utcStart: '2026-10-24T23:30:00.000Z',
      utcEnd: '2026-10-25T03:00:00.000Z',
    },
    {
      case: 'New York (EST)',
      startsAt: '2026-02-10T19:00:00-05:00',
      endsAt: '2026-02-10T21:00:00-05:00',
      timeZone: 'America/New_York',
      localStart: '19:00 GMT-5',
      localEnd: '21:00 GMT-5',
      utcStart: '2026-02-11T00:00:00.000Z',
      utcEnd: '2026-02-11T02:00:00.000Z',
    },
  ])('$case: DTSTART and DTEND are the same instants, in UTC', (example) => {
    // The inputs are the local times we mean (checked here), and the file must hold those instants.
    expect(formatEventTime(example.startsAt, example.timeZone)).toBe(example.localStart)
    expect(formatEventTime(example.endsAt, example.timeZone)).toBe(example.localEnd)

    for (const input of [
      { startsAt: example.startsAt, endsAt: example.endsAt },
      { startsAt: new Date(example.startsAt), endsAt: new Date(example.endsAt) },
    ]) {
      const ics = buildIcs({ ...base, ...input, timeZone: example.timeZone })
      const { vevent } = parseVevent(ics)
      expect(vevent.getFirstPropertyValue('summary')).toBe(base.title)
      expect(instant(vevent, 'dtstart')).toBe(example.utcStart)
      expect(instant(vevent, 'dtend')).toBe(example.utcEnd)
      expect(instant(vevent, 'dtstart')).toBe(new Date(example.startsAt).toISOString())
      expect(instant(vevent, 'dtend')).toBe(new Date(example.endsAt).toISOString())
      expect(ics).toMatch(/\r\nDTSTART:\d{8}T\d{6}Z\r\n/)
    }
  })

  test('folds long lines at 75 octets without splitting a character, and unfolds back exactly', () => {
    const description =
      'Former detainees of Guantánamo and Bagram speak about life after release — سند means support. ' +
      'سند: نحن معكم. '.repeat(8) +
      'Emoji-free, but with astral characters too: 𝒮𝒶𝓃𝒶𝒹 and 𠜎𠜱.'
    const ics = buildIcs({ ...base, description, location: 'Salle Molière, Genève' })

    const lines = contentLines(ics)
    for (const line of lines) {
      expect(new TextEncoder().encode(line).length, line).toBeLessThanOrEqual(75)
      // A split inside a UTF-8 sequence would leave a replacement character or a lone surrogate.
      expect(line).not.toMatch(/\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
    }
    // The description really was folded, into several continuation lines.
    expect(lines.filter((line) => line.startsWith(' ')).length).toBeGreaterThan(3)

    const unfolded = contentLines(unfold(ics))
    const descriptionLine = unfolded.find((line) => line.startsWith('DESCRIPTION:'))
    expect(descriptionLine).toBe(`DESCRIPTION:${description.replace(/,/g, '\\,')}`)

    const { vevent } = parseVevent(ics)
    expect(vevent.getFirstPropertyValue('description')).toBe(description)
    expect(vevent.getFirstPropertyValue('location')).toBe('Salle Molière, Genève')
  })

  test('commas, semicolons, backslashes and line breaks round-trip', () => {
    const title = 'Talks; music, food \\ and a vigil'
    const description = 'First line\nSecond line, with a comma; and a semicolon\r\nThird line\\n is not a break'
    const location = 'Room 3,\n173 Euston Road;\nLondon'
    const ics = buildIcs({ ...base, title, description, location })
    const unfolded = unfold(ics)
    expect(unfolded).toContain('SUMMARY:Talks\\; music\\, food \\\\ and a vigil\r\n')
    expect(unfolded).toContain('LOCATION:Room 3\\,\\n173 Euston Road\\;\\nLondon\r\n')

    const { vevent } = parseVevent(ics)
    expect(vevent.getFirstPropertyValue('summary')).toBe(title)
    expect(vevent.getFirstPropertyValue('description')).toBe(description.replace(/\r\n/g, '\n'))
    expect(vevent.getFirstPropertyValue('location')).toBe(location)
  })

  test('property: any text survives escaping and folding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), (text) => {
        const ics = buildIcs({ ...base, title: text, description: text })
        for (const line of contentLines(ics)) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75)
        // eslint-disable-next-line no-control-regex
        const expected = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '')
        const { vevent } = parseVevent(ics)
        expect(vevent.getFirstPropertyValue('summary') ?? '').toBe(expected)
      }),
      { numRuns: 200 },
    )
  })

  test('a cancellation says CANCEL and CANCELLED, with its sequence', () => {
    const ics = buildIcs({ ...base, method: 'CANCEL', sequence: 2 })
    const { calendar, vevent } = parseVevent(ics)
    expect(calendar.getFirstPropertyValue('method')).toBe('CANCEL')
    expect(vevent.getFirstPropertyValue('status')).toBe('CANCELLED')
    expect(vevent.getFirstPropertyValue('sequence')).toBe(2)
    expect(buildIcs({ ...base, method: 'REQUEST', sequence: 1 })).toContain('\r\nSTATUS:CONFIRMED\r\n')
  })

  test('an updated entry keeps its UID and carries a SEQUENCE that parses back and grows with time', () => {
    expect(calendarSequence(new Date('2020-01-01T00:00:00Z'))).toBe(0)
    expect(calendarSequence(new Date('2020-01-01T00:01:00.999Z'))).toBe(60)
    const first = calendarSequence(new Date('2027-06-01T09:00:00Z'))
    const later = calendarSequence(new Date('2027-06-01T09:00:01Z'))
    expect(later).toBeGreaterThan(first)

    const original = parseVevent(buildIcs(base)).vevent
    const updated = parseVevent(buildIcs({ ...base, startsAt: '2026-01-16T18:30:00Z', endsAt: '2026-01-16T20:00:00Z', sequence: first })).vevent
    expect(original.getFirstPropertyValue('sequence')).toBe(0)
    expect(updated.getFirstPropertyValue('uid')).toBe(original.getFirstPropertyValue('uid'))
    expect(updated.getFirstPropertyValue('sequence')).toBe(first)
    expect(instant(updated, 'dtstart')).toBe('2026-01-16T18:30:00.000Z')
    expect(() => calendarSequence(new Date('not a date'))).toThrow(/changedAt/)
  })

  test('the organiser is named; without an email there is no (invalid) empty ORGANIZER', () => {
    const quoted = buildIcs({ ...base, organiserName: 'The "Sanad", Project; London' })
    const organizer = parseVevent(quoted).vevent.getFirstProperty('organizer')
    expect(organizer?.getParameter('cn')).toBe('The "Sanad", Project; London')
    expect(unfold(quoted)).toContain(`ORGANIZER;CN="The ^'Sanad^', Project; London":mailto:events@example.org`)

    const withoutEmail = buildIcs({ ...base, organiserEmail: undefined })
    expect(withoutEmail).not.toContain('ORGANIZER')
    expect(parseVevent(withoutEmail).vevent.getFirstPropertyValue('summary')).toBe(base.title)
  })

  test('DTSTAMP comes from now', () => {
    const ics = buildIcs({ ...base, now: new Date('2026-02-03T04:05:06.789Z') })
    expect(instant(parseVevent(ics).vevent, 'dtstamp')).toBe('2026-02-03T04:05:06.000Z')
  })

  test('rejects impossible input instead of writing a broken file', () => {
    expect(() => buildIcs({ ...base, startsAt: 'not a date' })).toThrow(/startsAt/)
    expect(() => buildIcs({ ...base, endsAt: base.startsAt })).toThrow(/endsAt must be after startsAt/)
    expect(() => buildIcs({ ...base, timeZone: 'Europe/Atlantis' })).toThrow(/timeZone/)
    expect(() => buildIcs({ ...base, url: 'javascript:alert(1)' })).toThrow(/url/)
    expect(() => buildIcs({ ...base, organiserEmail: 'x@example.org\r\nATTENDEE:mailto:y@example.org' })).toThrow(/organiserEmail/)
    expect(() => buildIcs({ ...base, sequence: -1 })).toThrow(/sequence/)
  })
})

describe('add-to-calendar links', () => {
  const event: CalendarEvent = {
    ...base,
    startsAt: '2026-10-25T00:30:00+01:00',
    endsAt: '2026-10-25T03:00:00+00:00',
    description: 'Vigil & talks, then tea',
    location: 'Friends Meeting House, London',
    url: 'https://example.org/events/vigil',
  }

  test('Google Calendar gets UTC start and end', () => {
    const link = new URL(googleCalendarUrl(event))
    expect(link.origin + link.pathname).toBe('https://calendar.google.com/calendar/render')
    expect(link.searchParams.get('action')).toBe('TEMPLATE')
    expect(link.searchParams.get('text')).toBe(base.title)
    expect(link.searchParams.get('dates')).toBe('20261024T233000Z/20261025T030000Z')
    expect(link.searchParams.get('details')).toBe('Vigil & talks, then tea\n\nhttps://example.org/events/vigil')
    expect(link.searchParams.get('location')).toBe('Friends Meeting House, London')
    expect(link.searchParams.get('ctz')).toBe('Europe/London')
  })

  test('Outlook gets ISO UTC start and end', () => {
    const link = new URL(outlookCalendarUrl(event))
    expect(link.origin + link.pathname).toBe('https://outlook.live.com/calendar/0/action/compose')
    expect(link.searchParams.get('subject')).toBe(base.title)
    expect(link.searchParams.get('startdt')).toBe('2026-10-24T23:30:00Z')
    expect(link.searchParams.get('enddt')).toBe('2026-10-25T03:00:00Z')
    expect(link.searchParams.get('body')).toBe('Vigil & talks, then tea\n\nhttps://example.org/events/vigil')
    expect(link.searchParams.get('location')).toBe('Friends Meeting House, London')
  })

  test('New York times are converted, not copied', () => {
    const link = new URL(googleCalendarUrl({ ...base, startsAt: '2026-02-10T19:00:00-05:00', endsAt: '2026-02-10T21:00:00-05:00', timeZone: 'America/New_York' }))
    expect(link.searchParams.get('dates')).toBe('20260211T000000Z/20260211T020000Z')
  })
})
