/**
 * Calendar files (RFC 5545) and "add to calendar" links for an event.
 *
 * Times are written in UTC (`DTSTART:20261025T003000Z` form). A UTC instant means the same moment
 * in every calendar, across every time zone and daylight-saving change, and needs no VTIMEZONE
 * block; the supporter's calendar shows it in their own zone.
 *
 * Pure functions: nothing here reads the clock unless `now` is left out, and nothing is fetched.
 */

export type CalendarEvent = {
  /** Globally unique and stable for the event (or the registration), e.g. `<id>@sanad.example.org`. */
  uid: string
  title: string
  description?: string
  startsAt: Date | string
  endsAt: Date | string
  /** The event's IANA zone. Times are written in UTC; the zone is checked and given to Google. */
  timeZone: string
  location?: string
  url?: string
  organiserName: string
  organiserEmail?: string
  /** PUBLISH (default) for a file to save; REQUEST or CANCEL for iTIP-style updates. */
  method?: 'PUBLISH' | 'REQUEST' | 'CANCEL'
  /** Raise it each time the event changes, so calendars replace their copy. */
  sequence?: number
  /** DTSTAMP: when the file was made. Defaults to the current time. */
  now?: Date
}

const SEQUENCE_EPOCH_MS = Date.UTC(2020, 0, 1)

/**
 * A SEQUENCE for an entry changed at `changedAt`: whole seconds since 2020-01-01 UTC. It only
 * grows, so each later change outranks the last (and the first file's 0) without storing a
 * counter; calendars replace an entry whose UID matches and whose SEQUENCE is higher.
 */
export function calendarSequence(changedAt: Date): number {
  const seconds = Math.floor((changedAt.getTime() - SEQUENCE_EPOCH_MS) / 1000)
  if (!Number.isFinite(seconds)) throw new RangeError('changedAt is not a valid date')
  return Math.max(0, seconds)
}

const CRLF = '\r\n'
const MAX_LINE_OCTETS = 75

export function buildIcs(event: CalendarEvent): string {
  const { startsAt, endsAt } = checkedTimes(event)
  const method = event.method ?? 'PUBLISH'
  const sequence = event.sequence ?? 0
  if (!Number.isInteger(sequence) || sequence < 0) throw new RangeError('sequence must be a whole number, 0 or more')
  const now = event.now ?? new Date()
  if (Number.isNaN(now.getTime())) throw new RangeError('now is not a valid date')

  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Sanad//Events//EN',
    'CALSCALE:GREGORIAN',
    `METHOD:${method}`,
    'BEGIN:VEVENT',
    `UID:${escapeText(event.uid)}`,
    `DTSTAMP:${icsUtc(now)}`,
    `DTSTART:${icsUtc(startsAt)}`,
    `DTEND:${icsUtc(endsAt)}`,
    `SEQUENCE:${sequence}`,
    `STATUS:${method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED'}`,
    `SUMMARY:${escapeText(event.title)}`,
  ]
  if (event.description) lines.push(`DESCRIPTION:${escapeText(event.description)}`)
  if (event.location) lines.push(`LOCATION:${escapeText(event.location)}`)
  if (event.url) lines.push(`URL:${checkedUrl(event.url)}`)
  // ORGANIZER's value is a calendar address (a URI). Without an email there is no honest address
  // to give, and an empty value is not valid RFC 5545, so the property is left out.
  if (event.organiserEmail) {
    lines.push(`ORGANIZER;CN=${quoteParameter(event.organiserName)}:mailto:${checkedEmail(event.organiserEmail)}`)
  }
  lines.push('END:VEVENT', 'END:VCALENDAR')

  return lines.map(foldLine).join(CRLF) + CRLF
}

/** "Add to Google Calendar": a plain link the supporter may choose to follow. */
export function googleCalendarUrl(event: CalendarEvent): string {
  const { startsAt, endsAt } = checkedTimes(event)
  const params: Array<[string, string]> = [
    ['action', 'TEMPLATE'],
    ['text', cleanText(event.title)],
    ['dates', `${icsUtc(startsAt)}/${icsUtc(endsAt)}`],
    ['ctz', event.timeZone],
  ]
  const details = detailsWithUrl(event)
  if (details) params.push(['details', details])
  if (event.location) params.push(['location', cleanText(event.location)])
  return `https://calendar.google.com/calendar/render?${queryString(params)}`
}

/** "Add to Outlook" (Outlook.com): a plain link the supporter may choose to follow. */
export function outlookCalendarUrl(event: CalendarEvent): string {
  const { startsAt, endsAt } = checkedTimes(event)
  const params: Array<[string, string]> = [
    ['subject', cleanText(event.title)],
    ['startdt', isoUtc(startsAt)],
    ['enddt', isoUtc(endsAt)],
  ]
  const details = detailsWithUrl(event)
  if (details) params.push(['body', details])
  if (event.location) params.push(['location', cleanText(event.location)])
  return `https://outlook.live.com/calendar/0/action/compose?${queryString(params)}`
}

// ---------------------------------------------------------------------------------------------

function checkedTimes(event: CalendarEvent) {
  const startsAt = toDate(event.startsAt, 'startsAt')
  const endsAt = toDate(event.endsAt, 'endsAt')
  if (endsAt.getTime() <= startsAt.getTime()) throw new RangeError('endsAt must be after startsAt')
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: event.timeZone })
  } catch {
    throw new RangeError(`timeZone "${event.timeZone}" is not an IANA time zone`)
  }
  return { startsAt, endsAt }
}

function toDate(value: Date | string, field: string) {
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field} is not a valid date`)
  return date
}

/** 20261025T003000Z (seconds kept, milliseconds dropped). */
function icsUtc(date: Date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
}

/** 2026-10-25T00:30:00Z */
function isoUtc(date: Date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Text a person typed, made safe for a content line: lone surrogates become U+FFFD (they cannot be
 * written as UTF-8), line breaks become \n, and other control characters, which RFC 5545 does not
 * allow in TEXT, are dropped.
 */
function cleanText(text: string) {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '')
}

/** RFC 5545 3.3.11: backslash, semicolon and comma are escaped, and a line break is written \n. */
export function escapeText(text: string) {
  return cleanText(text).replace(/[\\;,]/g, (character) => `\\${character}`).replace(/\n/g, '\\n')
}

/**
 * A parameter value, always quoted. DQUOTE cannot appear inside one, so RFC 6868 caret encoding
 * is used for quotes, line breaks and carets.
 */
function quoteParameter(value: string) {
  const encoded = cleanText(value)
    .replace(/\^/g, '^^')
    .replace(/"/g, "^'")
    .replace(/\n/g, '^n')
    .replace(/\t/g, ' ')
  return `"${encoded}"`
}

function checkedEmail(email: string) {
  const trimmed = email.trim()
  if (!/^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/.test(trimmed)) {
    throw new RangeError('organiserEmail is not an email address')
  }
  return trimmed
}

function checkedUrl(url: string) {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RangeError('url is not a web address')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new RangeError('url must be http or https')
  return parsed.href
}

function detailsWithUrl(event: CalendarEvent) {
  const description = event.description ? cleanText(event.description).trim() : ''
  const url = event.url ? checkedUrl(event.url) : ''
  if (url && !description.includes(url)) return description ? `${description}\n\n${url}` : url
  return description
}

function queryString(params: Array<[string, string]>) {
  return params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')
}

/**
 * RFC 5545 3.1: a content line longer than 75 octets is split, and each continuation line starts
 * with a space (which counts towards its 75). Splits fall between characters, never inside a
 * character's UTF-8 bytes.
 */
export function foldLine(line: string): string {
  if (utf8Length(line) <= MAX_LINE_OCTETS) return line
  const parts: string[] = []
  let current = ''
  let currentOctets = 0
  let limit = MAX_LINE_OCTETS
  for (const character of line) {
    const octets = utf8Length(character)
    if (currentOctets + octets > limit) {
      parts.push(current)
      current = ''
      currentOctets = 0
      limit = MAX_LINE_OCTETS - 1 // the leading space of a continuation line
    }
    current += character
    currentOctets += octets
  }
  parts.push(current)
  return parts.join(`${CRLF} `)
}

/** Octets of the text in UTF-8, without Buffer (this module may also run in the browser). */
function utf8Length(text: string) {
  let octets = 0
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0
    octets += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4
  }
  return octets
}
