import { z } from 'zod'
import { dateTimeFormat } from './intl-cache.ts'

/**
 * Dates are shown in the event's own time zone with the zone named, so a supporter abroad sees
 * when the event happens where it happens.
 */
export function formatEventDate(instant: Date | string, timeZone: string, locale = 'en-GB') {
  return dateTimeFormat(locale, {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(new Date(instant))
}

export function formatEventTime(instant: Date | string, timeZone: string, locale = 'en-GB') {
  return dateTimeFormat(locale, {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(instant))
}

export function formatDay(instant: Date | string, locale = 'en-GB') {
  return dateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(instant),
  )
}

/** Whole days from `now` until `instant`, never negative. */
export function daysLeft(instant: Date | string, now = new Date()) {
  return Math.max(0, Math.ceil((new Date(instant).getTime() - now.getTime()) / 86_400_000))
}

/** The wall-clock reading in `timeZone` at an instant, as milliseconds of a UTC date with that reading. */
export function wallClockMs(instantMs: number, timeZone: string): number {
  const parts = dateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instantMs))
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value)
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'))
}

export type LocalTimeResult =
  | { ok: true; instant: Date; ambiguous: boolean }
  | { ok: false; reason: 'invalid' | 'nonexistent' }

const DAY_MS = 86_400_000

/** "2027-10-31T01:30" in a zone → the instant (the earlier one when the reading happens twice). */
export function localTimeToInstant(local: string, timeZone: string): LocalTimeResult {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local.trim())
  if (!match) return { ok: false, reason: 'invalid' }
  const [, year, month, day, hour, minute] = match.map(Number) as [number, number, number, number, number, number]
  const wall = Date.UTC(year, month - 1, day, hour, minute)
  // Date.UTC rolls 30 February into March; a reading that does not come back unchanged is no date.
  if (new Date(wall).toISOString().slice(0, 16) !== local.trim() || year < 1970) return { ok: false, reason: 'invalid' }
  // The zone's offsets a day either side cover both sides of any change near this reading.
  const offsets = new Set([wall - DAY_MS, wall, wall + DAY_MS].map((at) => wallClockMs(at, timeZone) - at))
  const instants = [...new Set([...offsets].map((offset) => wall - offset))]
    .filter((instant) => wallClockMs(instant, timeZone) === wall)
    .sort((a, b) => a - b)
  if (instants.length === 0) return { ok: false, reason: 'nonexistent' }
  return { ok: true, instant: new Date(instants[0]!), ambiguous: instants.length > 1 }
}

/** An instant as the value of a datetime-local input, read in the event's zone. */
export function instantToLocalTime(instant: Date, timeZone: string): string {
  return new Date(wallClockMs(instant.getTime(), timeZone)).toISOString().slice(0, 16)
}

/** A calendar day typed into a filter, YYYY-MM-DD, that exists (no 30 February). */
export function isoDateField() {
  return z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'Dates look like 2025-04-06')
    .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'That date does not exist')
}
